from dataclasses import dataclass

from django.db.models import Count, Min, Q

from core.claims import lease_expired

from .models import OutboundMail


@dataclass(frozen=True)
class Backlog:
    due: int  # mails due now (queued and due, or their sender's lease expired)
    oldest_due_at: object  # when the longest-waiting of them became due (None when none)


def mail_backlog(now) -> Backlog:
    """What the sweeps still have to send, in one query (the partial index on due mail)."""
    due = Q(status=OutboundMail.Status.QUEUED, next_attempt_at__lte=now) | (
        Q(status=OutboundMail.Status.SENDING) & lease_expired(now)
    )
    figures = OutboundMail.objects.filter(due).aggregate(due=Count("pk"), oldest=Min("next_attempt_at"))
    return Backlog(due=figures["due"], oldest_due_at=figures["oldest"])
