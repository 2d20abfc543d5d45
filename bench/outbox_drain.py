"""How fast the outbox drains a backlog after a mail outage (issue 23 item 14).

    DATABASE_URL=... .venv/bin/python bench/outbox_drain.py [count]

Writes `count` (default 4,000) due retries, then runs sweeps as beat would (one a
minute) with the in-memory mail backend (the mail server's own speed left out) and
prints how many sweeps, and so minutes, the backlog took, and each sweep's seconds.
Rows it wrote are deleted at the end.
"""

import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
django.setup()

from datetime import timedelta  # noqa: E402

from django.utils import timezone  # noqa: E402

from outbox.models import OutboundMail  # noqa: E402
from outbox.services import outbox_sweep  # noqa: E402


def main(count):
    now = timezone.now()
    OutboundMail.objects.filter(cause_key__startswith="bench-drain:").delete()
    OutboundMail.objects.bulk_create(
        [
            OutboundMail(cause_key=f"bench-drain:{n}", to=["c@example.com"], subject="s", body="b", attempts=1,
                         next_attempt_at=now - timedelta(minutes=30))
            for n in range(count)
        ]
    )  # fmt: skip
    sweeps, sent = 0, 0
    while OutboundMail.objects.filter(cause_key__startswith="bench-drain:", status="queued").exists():
        started = time.monotonic()
        outcomes = outbox_sweep(now=now + timedelta(minutes=sweeps))
        sweeps += 1
        sent += outcomes.get("sent", 0)
        print(f"sweep {sweeps}: sent {outcomes.get('sent', 0)} in {time.monotonic() - started:.1f} s")
    print(f"{count} due mails: {sweeps} sweep(s), so about {sweeps} minute(s) of beat; {sent} sent")
    OutboundMail.objects.filter(cause_key__startswith="bench-drain:").delete()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
