from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone


def overdue(server, now=None) -> bool:
    """Past its suspension day with the renewal unpaid, as run_billing judges it: lifted
    without a grace date, the next run suspends it again."""
    now = now or timezone.now()
    return server.paid_until is not None and server.paid_until <= now - timedelta(days=settings.SUSPEND_AFTER_DAYS)


def end_of_day(day):
    """The first moment after `day` in the portal's time zone (aware)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class UnsuspendForm(forms.Form):
    """An overdue server is lifted only with a grace date that run_billing respects
    (Server.grace_until): the last day it stays running with its renewal unpaid."""

    grace_until = forms.DateField(
        label="Grace until (last day it runs unpaid)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Until the end of this day the billing run neither suspends nor terminates it; "
        "then, with the renewal still unpaid, it is suspended again.",
    )

    def __init__(self, data=None, *, objects=()):
        super().__init__(data)
        self.overdue = [server for server in objects if overdue(server)]
        if not self.overdue:
            del self.fields["grace_until"]

    def clean_grace_until(self):
        day = self.cleaned_data["grace_until"]
        if day is None:
            raise forms.ValidationError(
                "This server's renewal is unpaid past its suspension day: without a grace date the next billing "
                "run (within the hour) suspends it again. Give the last day it may run unpaid."
            )
        if day <= timezone.localdate():
            raise forms.ValidationError("A grace date is after today.")
        return day

    def params(self):
        day = self.cleaned_data.get("grace_until")
        return {"grace_until": end_of_day(day)} if day else {}
