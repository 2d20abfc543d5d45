import json

from django.core.management.base import BaseCommand, CommandError

from core.commands import JsonOutputMixin
from payments.reconcile import CAPTURE_WINDOW, DEFAULT_SINCE_HOURS, payments_reconcile


class Command(JsonOutputMixin, BaseCommand):
    help = (
        "Ask Razorpay (through the SDK) about every order still `created` that has a Razorpay order id "
        f"from the last HOURS (default {DEFAULT_SINCE_HOURS}), and apply each payment the portal missed "
        "exactly as its webhook would (authorized payments are captured first). Orders older than "
        f"Razorpay's capture window ({CAPTURE_WINDOW.days} days) with nothing captured are checked one last "
        "time and cancelled. "
        'With --json prints one object: {"checked": number of orders asked about, '
        '"applied": [{"order", "payment", "status", "result"}] for each payment passed to the payment funnel, '
        '"cancelled": [order numbers], "errors": [{"order", "error"}]}. '
        "Exit status 0 when every order was checked, 1 when any failed (the others are still done)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=int,
            default=DEFAULT_SINCE_HOURS,
            metavar="HOURS",
            help=f"look at orders created in the last HOURS (default {DEFAULT_SINCE_HOURS})",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    def handle(self, *args, **options):
        if options["since"] <= 0:
            raise CommandError("--since must be a positive number of hours.", returncode=2)
        report = payments_reconcile(since_hours=options["since"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
        else:
            self.stdout.write(f"Checked {report.checked} order(s) awaiting payment.")
            for item in report.applied:
                self.stdout.write(
                    f"  applied {item['payment']} ({item['status']}) to {item['order']}: {item['result']}"
                )
            for number in report.cancelled:
                self.stdout.write(f"  cancelled {number}: nothing captured within the capture window")
            for error in report.errors:
                self.stdout.write(f"  ERROR {error['order']}: {error['error']}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} order(s) could not be reconciled.", returncode=1)
