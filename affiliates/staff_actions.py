"""The staff action affiliates owns (security.staff_actions): record a payout, which
turns the oldest approved commissions paid. services.payout_record locks them and
writes the staff-audit row (naming the Payout it creates) in its transaction."""

from core.templatetags.money import rupees
from security.staff_actions import Done, StaffActionDefinition, StaffActionRefused

from .models import Affiliate, Commission
from .services import PayoutError, payout_record


def nothing_approved(affiliate, **params):
    if not Commission.objects.filter(affiliate_id=affiliate.pk, status=Commission.Status.APPROVED).exists():
        return "Nothing approved to pay."
    return None


def payout(affiliate, *, reason, actor, request=None, via="admin", **payout_fields):
    try:
        recorded = payout_record(affiliate=affiliate, recorded_by=actor, request=request, via=via, **payout_fields)
    except PayoutError as exc:
        raise StaffActionRefused(str(exc)) from exc
    count = recorded.commissions.count()
    return Done(f"Payout of {rupees(recorded.amount_paise)} recorded; {count} commission(s) marked paid.")


PAYOUT = StaffActionDefinition(
    key="payout",
    label="Record payout",
    model=Affiliate,
    permission="affiliates.pay_commission",
    explains="Records a transfer you have already made; it marks the oldest approved commissions paid.",
    unavailable=nothing_approved,
    perform=payout,
    audited_by_service=True,
)

DEFINITIONS = [PAYOUT]
