from django import forms
from django.contrib.auth import get_user_model

from .gst import STATE_CHOICES, gstin_validate
from .models import BILLING_CYCLES

CYCLE_CHOICES = [(months, f"{months} month" if months == 1 else f"{months} months") for months in BILLING_CYCLES]
STATE_SELECT_CHOICES = [("", "Choose your state or union territory")] + STATE_CHOICES


class RupeesField(forms.CharField):
    """An amount staff type in rupees ("500", "500.50"), cleaned to integer paise,
    exactly (billing.pricing.paise_from_typed_rupees). Django's DecimalField would
    read "1e3" as ₹1,000; this refuses it, and signs, separators and other scripts'
    digits, with a message. Above zero unless `allow_zero`."""

    def __init__(self, *args, allow_zero=False, **kwargs):
        self.allow_zero = allow_zero
        # No max_length: CharField's length validator would run on the cleaned paise;
        # the pattern already bounds what is accepted (12 digits and two decimals).
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value // 100}.{value % 100:02d}"  # initial values are paise
        return value

    def to_python(self, value):
        from .pricing import PricingError, paise_from_typed_rupees

        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            paise = paise_from_typed_rupees(text)
        except PricingError as exc:
            raise forms.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from exc
        if paise <= 0 and not self.allow_zero:
            raise forms.ValidationError("Type an amount above ₹0.00.")
        return paise


def cycle_from(value, default=1):
    """The billing cycle a query string asks for, or `default` for anything else."""
    try:
        months = int(value)
    except (TypeError, ValueError):
        return default
    return months if months in BILLING_CYCLES else default


class BillingDetailsMixin:
    """GSTIN checked by format, check character and against the chosen state."""

    state_field = "state"
    gstin_field = "gstin"

    def clean(self):
        cleaned = super().clean()
        gstin = cleaned.get(self.gstin_field)
        if gstin:
            try:
                cleaned[self.gstin_field] = gstin_validate(gstin, cleaned.get(self.state_field, ""))
            except forms.ValidationError as exc:
                self.add_error(self.gstin_field, exc)
        return cleaned


class BillingDetailsForm(BillingDetailsMixin, forms.ModelForm):
    """The customer's saved billing details (account page); checkout starts from them."""

    state_field = "billing_state"

    billing_state = forms.ChoiceField(label="State (place of supply)", choices=STATE_SELECT_CHOICES, required=False)
    # Longer than 15 so a GSTIN typed with spaces reaches the validator, which normalises it.
    gstin = forms.CharField(
        label="GSTIN (optional)", max_length=20, required=False, help_text="Only for GST-registered businesses."
    )

    class Meta:
        model = get_user_model()
        fields = ["billing_name", "billing_address", "billing_state", "gstin"]
        labels = {"billing_name": "Name on invoices"}
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}


class RefundForm(forms.Form):
    """A refund's own inputs on its confirmation page: an amount in rupees for one
    order, or the explicit choice of everything that is left (never the default of
    an empty field). What staff typed is kept when the page comes back with an error."""

    amount = RupeesField(
        label="Amount in rupees",
        required=False,
        help_text="Like 500 or 500.50.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    everything = forms.BooleanField(label="Refund everything that is left", required=False)

    def __init__(self, data=None, *, objects=()):
        super().__init__(data)
        self.single = len(objects) == 1
        if not self.single:
            del self.fields["amount"]  # several orders: everything that is left of each, ticked explicitly

    def add_error(self, field, error):
        # The typed text beside its error, so staff see what was refused.
        typed = (self.data.get("amount") or "").strip() if field == "amount" else ""
        if typed and isinstance(error, forms.ValidationError) and not hasattr(error, "error_dict"):
            error = forms.ValidationError([f"{m.rstrip('.')} (you typed {typed!r})." for m in error.messages])
        super().add_error(field, error)

    def clean(self):
        cleaned = super().clean()
        if (self.data.get("amount_paise") or "").strip():  # a page opened before amounts were in rupees
            raise forms.ValidationError("the amount is now typed in rupees; open the refund page again")
        everything = cleaned.get("everything")
        if not self.single:
            if (self.data.get("amount") or "").strip():
                raise forms.ValidationError(
                    "An amount is for one order at a time; for several orders tick “everything that is left”."
                )
            if not everything:
                raise forms.ValidationError("Tick “everything that is left” to refund these orders in full.")
            return cleaned
        if "amount" in self.errors:
            return cleaned
        if cleaned.get("amount") is not None and everything:
            self.add_error("amount", "Type an amount or tick “everything that is left”, not both.")
        elif cleaned.get("amount") is None and not everything:
            self.add_error("amount", "Type an amount, or tick “everything that is left”.")
        return cleaned

    def params(self):
        return {"amount_paise": self.cleaned_data.get("amount")}
