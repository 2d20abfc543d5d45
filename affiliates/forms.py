from django import forms
from django.utils import timezone

from billing.forms import RupeesField


class PayoutForm(forms.Form):
    amount = RupeesField(
        label="Amount (₹)",
        help_text="What you sent, in rupees (like 500 or 500.50). It must settle whole approved commissions, "
        "oldest first.",
    )
    reference = forms.CharField(max_length=100, help_text="The transfer's reference: UTR, UPI or bank transaction id.")
    paid_on = forms.DateField(
        label="Paid on", initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError("A payout is recorded once it is sent, not in advance.")
        return paid_on

    def __init__(self, data=None, *, objects=(), **kwargs):
        super().__init__(data, **kwargs)

    @property
    def amount_paise(self) -> int:
        return self.cleaned_data["amount"]  # RupeesField cleans to integer paise

    def params(self):
        """The payout as the staff action (affiliates.staff_actions.PAYOUT) takes it."""
        data = self.cleaned_data
        return {
            "amount_paise": self.amount_paise,
            "reference": data["reference"],
            "paid_on": data["paid_on"],
            "note": data["note"],
        }
