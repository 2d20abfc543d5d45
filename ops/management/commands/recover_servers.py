import getpass
import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from core.commands import JsonOutputMixin
from core.templatetags.money import rupees
from ops.recovery import UnknownOrders, recovery_execute, recovery_plan
from security.audit import staff_action_record

SOURCE = "recover_servers"


class Command(JsonOutputMixin, BaseCommand):
    help = (
        "Find orphaned orders (paid, no server) and stuck servers (pending/provisioning for more than "
        "STUCK_SERVER_MINUTES, or failed); create each missing server from its order's snapshot and "
        "(re)queue provisioning. Without --yes it lists what it would do and asks on a terminal; with no "
        "terminal it only lists (a dry run). Safe to run twice or beside live traffic: an order never gets "
        "a second server. Exit status: 0 nothing failed, 1 something failed, 2 bad arguments."
    )
    # call_command(..., stdin=...) lets tests stand in for the terminal.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be done; change nothing")
        parser.add_argument("--yes", action="store_true", help="do it without asking")
        parser.add_argument(
            "--order",
            action="append",
            dest="orders",
            default=[],
            metavar="NUMBER",
            help="only this order (and its server); repeat for several",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='print one object: {"dry_run", "orphaned_orders", "stuck_servers", "created", "requeued", "errors"}',
        )

    def handle(self, *args, **options):
        stdin = options.get("stdin") or sys.stdin
        as_json = options["json"]
        try:
            plan = recovery_plan(options["orders"] or None)
        except UnknownOrders as exc:
            raise CommandError(str(exc), returncode=2) from exc

        dry_run = options["dry_run"]
        if not dry_run and not options["yes"]:
            if not stdin.isatty():
                self.stderr.write("No terminal and no --yes: dry run only, nothing changed. Pass --yes to act.")
                dry_run = True
            elif plan.has_work and not self.confirmed(plan, stdin, as_json):
                self.stderr.write("Aborted: nothing changed.")
                dry_run = True

        report = plan if dry_run else recovery_execute(plan, source=SOURCE)
        if not dry_run and plan.has_work:
            # Who ran it: no portal user here, so the shell's login name.
            staff_action_record(
                "servers.requeue_server",
                target=None,
                via="command",
                reason="recover_servers",
                details={"os_user": getpass.getuser(), **report.as_json()},
            )
        if as_json:
            self.stdout.write(json.dumps(report.as_json()))
        else:
            self.print_plan(report, self.stdout)
            self.print_outcome(report)
        if report.errors:
            raise CommandError(f"{len(report.errors)} item(s) failed; the others were done.", returncode=1)

    def confirmed(self, plan, stdin, as_json) -> bool:
        # With --json, stdout carries only the final object; the conversation goes to stderr.
        out = self.stderr if as_json else self.stdout
        self.print_plan(plan, out)
        out.write("Proceed? [y/N] ", ending="")
        out.flush()
        return stdin.readline().strip().lower() in ("y", "yes")

    def print_plan(self, report, out):
        now = timezone.now()
        out.write(f"Orphaned orders (paid, no server): {len(report.order_rows)}")
        for order in report.order_rows:
            age = timesince(order.paid_at, now) if order.paid_at else "?"
            out.write(f"  {order.number}  {order.user.email:<32} {rupees(order.total_paise):>14}  paid {age} ago")
        out.write(f"Stuck servers: {len(report.server_rows)}")
        for server in report.server_rows:
            age = timesince(server.problem_since, now)
            error = f"  last error: {server.last_error.splitlines()[0]}" if server.last_error else ""
            out.write(
                f"  #{server.pk:<8} {server.order.number}  {server.user.email:<32} {server.status} for {age}{error}"
            )

        if report.operation_rows:
            out.write(f"Server operations running past their expected time: {len(report.operation_rows)}")
        for operation in report.operation_rows:
            since = timesince(operation.claimed_at, now) if operation.claimed_at else "?"
            lease = "lease expired" if operation.lease_until < now else "lease held"
            out.write(
                f"  op #{operation.pk:<6} server #{operation.server_id}  {operation.action} ({operation.purpose}) "
                f"running {since}, attempt {operation.attempts}, {lease}"
            )

    def print_outcome(self, report):
        if report.dry_run:
            self.stdout.write("Dry run: nothing changed.")
            return
        for item in report.created:
            self.stdout.write(f"Created server #{item['server']} for {item['order']}; provisioning queued.")
        for server_id in report.requeued:
            self.stdout.write(f"Requeued server #{server_id} for provisioning.")
        for operation_id in report.operations_requeued:
            self.stdout.write(f"Handed operation #{operation_id} to a worker again (its lease had expired).")
        for item in report.skipped:
            self.stdout.write(f"Skipped {item['order']}: {item['reason']}.")
        for item in report.errors:
            self.stdout.write(f"ERROR {item['order']}: {item['error']}")
        self.stdout.write(
            f"Done: {len(report.created)} created, {len(report.requeued)} requeued, {len(report.errors)} failed."
        )
