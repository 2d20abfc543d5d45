import json
import sys

from django.core.management.base import BaseCommand, CommandError

from billing.models import Refund
from core.commands import JsonOutputMixin
from core.templatetags.money import rupees
from payments.gateways import GatewayError
from payments.refunds import RefundRefused, order_refund_plan, refund_credit_note_number
from payments.staff_actions import REFUND_ORDER
from security import staff_actions

SOURCE = "refund_order"


class Command(JsonOutputMixin, BaseCommand):
    help = (
        "Refund a paid order through Razorpay: by default what is left of the payment that paid it. "
        "Without --yes it shows what it would do and asks on a terminal; with no terminal it only shows "
        "it (a dry run). A refund Razorpay reports as pending counts once it is processed (its webhook). "
        'With --json prints one object: {"order", "dry_run", "refund": {"id", "amount_paise", "status"} or null, '
        '"credit_note": number or null, "errors": [...]}. '
        "Exit status: 0 done, 1 Razorpay failed, 2 bad arguments (unknown order, more than is left, no reason)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("number", metavar="NUMBER", help="the order number, ORD-…")
        parser.add_argument("--amount-paise", type=int, metavar="N", help="refund N paise (default: all that is left)")
        parser.add_argument("--reason", required=True, help="why (kept with the refund and on the credit note)")
        parser.add_argument("--yes", action="store_true", help="do it without asking")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        stdin = options.get("stdin") or sys.stdin
        number, as_json = options["number"], options["json"]
        reason = (options["reason"] or "").strip()
        if not reason:
            raise CommandError("--reason must say why the order is refunded.", returncode=2)
        try:
            plan = order_refund_plan(number, options["amount_paise"])
        except RefundRefused as exc:
            raise CommandError(str(exc), returncode=2) from exc
        out = self.stderr if as_json else self.stdout
        out.write(f"Refund {rupees(plan.amount_paise)} of payment {plan.payment_id} on order {number}: {reason}")

        dry_run = not options["yes"]
        if dry_run:
            if not stdin.isatty():
                self.stderr.write("No terminal and no --yes: dry run only, nothing refunded. Pass --yes to act.")
            else:
                out.write("Proceed? [y/N] ", ending="")
                out.flush()
                dry_run = stdin.readline().strip().lower() not in ("y", "yes")
                if dry_run:
                    self.stderr.write("Aborted: nothing refunded.")

        result = {"order": number, "dry_run": dry_run, "refund": None, "credit_note": None, "errors": []}
        if not dry_run:
            try:  # the staff action, as the admin's: the audit row commits with the refund
                staff_actions.run(
                    REFUND_ORDER,
                    plan.order,
                    reason=reason,
                    via="command",
                    params={"amount_paise": plan.amount_paise, "source": SOURCE},
                )
            except staff_actions.StaffActionRefused as exc:  # the order changed since the plan
                raise CommandError(str(exc), returncode=2) from exc
            except GatewayError as exc:
                result["errors"].append(f"{type(exc).__name__}: {exc}")
            else:
                refund = Refund.objects.filter(payment__razorpay_payment_id=plan.payment_id).latest("pk")
                result["refund"] = {
                    "id": refund.razorpay_refund_id,
                    "amount_paise": refund.amount_paise,
                    "status": refund.status,
                }
                result["credit_note"] = refund_credit_note_number(refund)
        if as_json:
            self.stdout.write(json.dumps(result))
        elif result["refund"]:
            refund = result["refund"]
            self.stdout.write(f"Refund {refund['id']}: {rupees(refund['amount_paise'])}, {refund['status']}.")
            if result["credit_note"]:
                self.stdout.write(f"Credit note {result['credit_note']} issued.")
        for error in result["errors"]:
            self.stderr.write(f"ERROR {error}")
        if result["errors"]:
            raise CommandError("Razorpay did not make the refund; nothing was recorded.", returncode=1)
