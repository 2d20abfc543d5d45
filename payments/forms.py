from django import forms
from django.conf import settings

from accounts.models import BILLING_ADDRESS_MAX, BILLING_NAME_MAX
from billing.forms import CYCLE_CHOICES, STATE_SELECT_CHOICES, BillingDetailsMixin
from billing.models import RazorpayCustomer
from billing.recurring import ContactInvalid, contact_parse
from core.templatetags.money import rupees
from sshkeys.selectors import ssh_keys_for_user


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
    autopay = forms.BooleanField(
        label="Pay renewals automatically (autopay)",
        required=False,
        help_text=(
            "Paying this order by card or UPI also sets up an e-mandate: each renewal is then debited "
            f"automatically, up to {rupees(settings.AUTOPAY_MAX_PAISE)} a time, after a notice by email a day "
            "or two before. Turn it off any time on the server's page; larger renewals you pay yourself."
        ),
    )
    contact = forms.CharField(
        label="Mobile number (for autopay)",
        max_length=20,
        required=False,
        help_text="Razorpay requires one for autopay: 10 digits, optionally after +91. Asked once, remembered.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_known = bool(user) and RazorpayCustomer.objects.filter(user=user).exists()
        self.fields["ssh_keys"].queryset = ssh_keys_for_user(user) if user else ssh_keys_for_user(None).none()
        self.fields["ssh_keys"].label_from_instance = lambda key: f"{key.name} ({key.fingerprint})"
        # The customer's only key is ticked: forgetting to tick it gave a server they
        # could not sign in to. Keys are few; the list is evaluated once and reused.
        self.customer_keys = list(self.fields["ssh_keys"].queryset)
        if len(self.customer_keys) == 1 and not self.is_bound:
            self.initial.setdefault("ssh_keys", [self.customer_keys[0].pk])

    def clean_contact(self):
        try:
            return contact_parse(self.cleaned_data["contact"]) if self.cleaned_data["contact"] else ""
        except ContactInvalid as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("autopay")
            and not cleaned.get("contact")
            and not self.contact_known
            and "contact" not in self.errors
        ):
            self.add_error("contact", "Autopay needs your mobile number: Razorpay requires one.")
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
