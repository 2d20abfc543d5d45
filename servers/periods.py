"""Calendar arithmetic of paid periods (CONTRACT: Renewals).

A period of `m` months ends on the same day of the month `m` months later, in
the portal's time zone, with the day clamped to the month's end: 31 January + 1
month is 28 (or 29) February. python-dateutil's relativedelta does exactly that.
"""

from dateutil.relativedelta import relativedelta
from django.utils import timezone


def period_end(start, months: int):
    """`start` (aware) plus `months` calendar months, counted in the local calendar."""
    return timezone.localtime(start) + relativedelta(months=months)

