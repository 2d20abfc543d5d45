from django import forms
from django.contrib.auth import get_user_model

from accounts.models import BILLING_ADDRESS_MAX, BILLING_NAME_MAX

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


class CheckoutForm(BillingDetailsMixin, forms.Form):
    billing_cycle_months = forms.TypedChoiceField(
        label="Billing cycle", choices=CYCLE_CHOICES, coerce=int, initial=1, widget=forms.RadioSelect
    )
    name = forms.CharField(label="Name on the invoice", max_length=BILLING_NAME_MAX)
    address = forms.CharField(
        label="Billing address",
        max_length=BILLING_ADDRESS_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    state = forms.ChoiceField(
        label="State (place of supply)",
        choices=STATE_SELECT_CHOICES,
        help_text="Decides whether GST is charged as CGST + SGST or as IGST.",
    )
    gstin = forms.CharField(
        label="GSTIN (optional)",
        max_length=20,
        required=False,
        help_text="Only if you are a GST-registered business and want to claim input tax credit.",
    )

    ssh_keys = forms.ModelMultipleChoiceField(
        label="SSH keys to install",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Installed on the new server for its login user, so you sign in with your own key.",
    )
    without_ssh_key = forms.BooleanField(label="Order without an SSH key (I will add one later)", required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        from sshkeys.selectors import ssh_keys_for_user  # sshkeys depends on billing's Order

        self.fields["ssh_keys"].queryset = ssh_keys_for_user(user) if user else ssh_keys_for_user(None).none()
        self.fields["ssh_keys"].label_from_instance = lambda key: f"{key.name} ({key.fingerprint})"
        # The customer's only key is ticked: forgetting to tick it gave a server they
        # could not sign in to. Keys are few; the list is evaluated once and reused.
        self.customer_keys = list(self.fields["ssh_keys"].queryset)
        if len(self.customer_keys) == 1 and not self.is_bound:
            self.initial.setdefault("ssh_keys", [self.customer_keys[0].pk])

    def clean(self):
        cleaned = super().clean()
        if self.customer_keys and not cleaned.get("ssh_keys") and not cleaned.get("without_ssh_key"):
            self.add_error(
                "ssh_keys",
                "Choose a key to install, or tick “Order without an SSH key”: without a key you cannot "
                "sign in to the new server until you add one on its page.",
            )
        return cleaned

    def buyer(self):
        data = self.cleaned_data
        return {"name": data["name"], "address": data["address"], "state": data["state"], "gstin": data["gstin"]}


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
