import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops.audit import ledger_audit, month_just_closed


class Command(BaseCommand):
    help = (
        "Check every paid or refunded order: captured payment = order total = invoice total; processed "
        "refunds = credit notes <= total; a full refund means a refunded order and a terminated server; a paid "
        "new order has its server; the monthly pass checks last month's GSTR-1 against its documents. "
        "Each problem is alerted once. "
        'With --json prints {"orders_checked", "problems": [{"order", "problem"}]}. '
        "Exit status 0 when there is no problem, 1 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        report = ledger_audit(monthly_for=month_just_closed(timezone.localdate()))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
        else:
            self.stdout.write(f"Checked {report.orders_checked} paid or refunded order(s).")
            for item in report.problems:
                self.stdout.write(f"  {item['order']}: {item['problem']}")
        if report.problems:
            raise CommandError(f"{len(report.problems)} problem(s) in the ledger.", returncode=1)
