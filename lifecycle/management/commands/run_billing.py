import json

from django.core.management.base import BaseCommand, CommandError

from core.commands import JsonOutputMixin
from lifecycle.billing_day import billing_run


class Command(JsonOutputMixin, BaseCommand):
    help = (
        "One pass of the service lifecycle: issue due renewal orders, send due reminders, suspend and "
        "terminate unpaid servers, terminate servers cancelled at period end (and every further step of "
        "lifecycle.billing_day.STEPS). Safe to run twice or beside live traffic. "
        "Exit status: 0 nothing failed, 1 something failed, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="report what a pass would do; change and send nothing"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='print one object: {"dry_run", "renewals_created", "reminders_sent", "suspended", "terminated", '
            '"autopay_requested", "errors"}',
        )

    def handle(self, *args, **options):
        report = billing_run(dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
        else:
            prefix = "Dry run (nothing changed): would have " if report.dry_run else ""
            self.stdout.write(
                f"{prefix}issued {len(report.renewals_created)} renewal(s), sent {report.reminders_sent} reminder(s), "
                f"suspended {len(report.suspended)} and terminated {len(report.terminated)} server(s), "
                f"asked {len(report.autopay_requested)} autopay debit(s)."
            )
            for error in report.errors:
                self.stdout.write(f"ERROR server #{error['server']}: {error['error']}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} server(s) failed; the others were done.", returncode=1)
