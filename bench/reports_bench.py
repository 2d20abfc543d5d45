"""Benchmark: the GSTR-1 return and the reports pages at 100,000 servers (issue 26).

Creates a fresh PostgreSQL database (portal_bench_reports), migrates it and
bulk-inserts the ops benchmark's kind of world, grown for the reports: 100,000
paid `new` orders each with its server (85% active, 10% suspended, 5% terminated)
and its stored tax invoice, all dated in one month (a fifth to 50 GSTIN buyers, a
twentieth large inter-state B2C, the rest small B2C over several states), 5,000
credit notes in the same month, 20,000 paid renewals with their extensions and the
servers' suspensions and terminations spread over the year. Then measures:
  - `manage.py gstr1 YYYY-MM --output FILE` as its own process: wall time and peak
    memory (the child's maximum resident set), with the file's size;
  - GET /admin/reports/, /admin/reports/gst/<month>/ and /healthz (the reference)
    with the Django test client as a superuser: median and p95 of 7 runs after a
    warm-up, and the SQL statements of each page.

    .venv/bin/python bench/reports_bench.py            # prints a markdown table
    .venv/bin/python bench/reports_bench.py --write    # also updates docs/benchmarks.md
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.fresh_db import database_recreate, django_setup  # noqa: E402
from bench.ops_bench import write_docs  # noqa: E402

DB_NAME = "portal_bench_reports"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
SELLER_GSTIN = "29AAGCB7383J1Z4"
ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "CELERY_BROKER_URL": "memory://",
    "SELLER_GSTIN": SELLER_GSTIN,
    "SELLER_STATE": "Karnataka",
}
COMMAND = ".venv/bin/python bench/reports_bench.py --write"
HEADING = "## GSTR-1 and the reports (issue 26)"
SERVERS = 100_000
CREDIT_NOTES = 5_000
RENEWALS = 20_000
BATCH = 5_000
STATES = ["29", "27", "33", "32", "07", "36", "24", "19"]  # Karnataka first: within the state


def month_of_invoices(today: date) -> date:
    first = today.replace(day=1) - timedelta(days=1)
    return first.replace(day=1)


def buyer_gstin(number: int) -> str:
    from billing.gst import gstin_check_character

    first_14 = f"{STATES[number % len(STATES)]}AABCB{number:04d}F1Z"
    return first_14 + gstin_check_character(first_14)


def build_world(month: date):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from billing.factories import HostingPlanFactory
    from billing.gst import STATE_CODES
    from billing.models import CreditNote, Order, Payment, Refund, TaxInvoice, new_order_number
    from billing.pricing import quote, split_gst
    from servers.models import RenewalExtension, Server, ServerStatusChange

    small = HostingPlanFactory(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    large = HostingPlanFactory(slug="g-big", name="G.BIG", price_paise=10_000_000, vcpu=64, ram_gb=256, disk_gb=4000)
    User = get_user_model()
    User.objects.bulk_create([User(email=f"customer{i}@example.com", password="!") for i in range(1000)])
    users = list(User.objects.filter(is_staff=False).values_list("pk", flat=True))
    gstins = [buyer_gstin(i) for i in range(50)]
    start = timezone.make_aware(datetime.combine(month, datetime.min.time()))
    days = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - month
    number = 0

    def document(i):
        """(plan, gstin, state code) of the i-th invoice."""
        if i % 5 == 0:
            gstin = gstins[i % 50]
            return small, gstin, gstin[:2]
        if i % 20 == 1:
            return large, "", STATES[1 + i % (len(STATES) - 1)]  # inter-state, above ₹1,00,000
        return small, "", STATES[i % len(STATES)]

    for batch_start in range(0, SERVERS, BATCH):
        orders, specs = [], []
        for i in range(batch_start, min(SERVERS, batch_start + BATCH)):
            plan, gstin, code = document(i)
            q = quote(plan, 1)
            paid_at = start + timedelta(seconds=i * (days.days * 86400 // SERVERS))
            number += 1
            specs.append((plan, gstin, code, q, paid_at, f"HP/26-27/{number:06d}"))
            orders.append(
                Order(
                    number=new_order_number(),
                    user_id=users[i % len(users)],
                    plan=plan,
                    status="paid",
                    plan_slug=plan.slug,
                    plan_name=plan.name,
                    plan_vcpu=plan.vcpu,
                    plan_ram_gb=plan.ram_gb,
                    plan_disk_gb=plan.disk_gb,
                    unit_price_paise=q.unit_price_paise,
                    subtotal_paise=q.subtotal_paise,
                    gst_rate_percent=q.gst_rate_percent,
                    tax_paise=q.tax_paise,
                    total_paise=q.total_paise,
                    paid_at=paid_at,
                    buyer_gstin=gstin,
                    buyer_state=STATE_CODES[code],
                    invoice_number=f"HP/26-27/{number:06d}",
                    invoice_date=timezone.localdate(paid_at),
                )
            )
        created = Order.objects.bulk_create(orders)
        invoices, servers = [], []
        for row, (plan, gstin, code, q, paid_at, inv_number) in zip(created, specs, strict=True):
            intra = code == "29"
            split = split_gst(q.tax_paise, intra)
            invoices.append(
                TaxInvoice(
                    order_id=row.pk,
                    number=inv_number,
                    issued_on=timezone.localdate(paid_at),
                    seller_name="Bench Hosting",
                    seller_state="Karnataka",
                    seller_gstin=SELLER_GSTIN,
                    buyer_name=f"Buyer {row.pk}",
                    buyer_state=STATE_CODES[code],
                    buyer_gstin=gstin,
                    place_of_supply=STATE_CODES[code],
                    place_of_supply_code=code,
                    intra_state=intra,
                    taxable_paise=q.subtotal_paise,
                    gst_rate_percent=q.gst_rate_percent,
                    cgst_paise=split.get("cgst_paise", 0),
                    sgst_paise=split.get("sgst_paise", 0),
                    igst_paise=split.get("igst_paise", 0),
                    tax_paise=q.tax_paise,
                    total_paise=q.total_paise,
                    lines=[{"description": plan.name, "sac": "998315", "quantity": 1}],
                )
            )
            index = row.pk % 20
            servers.append(
                Server(
                    order_id=row.pk,
                    user_id=row.user_id,
                    name=f"s-{row.pk}",
                    status="terminated" if index == 0 else "suspended" if index in (1, 2) else "active",
                    paid_until=paid_at + timedelta(days=30),
                )
            )
        TaxInvoice.objects.bulk_create(invoices)
        Server.objects.bulk_create(servers)

    # 5,000 credit notes in the same month, each on its own invoice: half in full.
    refunded = list(
        TaxInvoice.objects.order_by("pk").values_list("pk", "order_id", "order__total_paise", "number")[
            :: SERVERS // CREDIT_NOTES
        ]
    )[:CREDIT_NOTES]
    payments = Payment.objects.bulk_create(
        [
            Payment(
                order_id=order_id,
                razorpay_payment_id=f"pay_bench_{order_id}",
                status="captured",
                amount_paise=total,
                currency="INR",
            )
            for _, order_id, total, _ in refunded
        ],
        batch_size=BATCH,
    )
    refunds = Refund.objects.bulk_create(
        [
            Refund(
                payment=payment,
                razorpay_refund_id=f"rfnd_bench_{payment.order_id}",
                amount_paise=payment.amount_paise,
                status="processed",
            )
            for payment in payments
        ],
        batch_size=BATCH,
    )
    invoices = TaxInvoice.objects.in_bulk([pk for pk, *_ in refunded])
    notes = []
    for n, ((pk, order_id, _, _), refund) in enumerate(zip(refunded, refunds, strict=True), start=1):
        invoice = invoices[pk]
        notes.append(
            CreditNote(
                refund=refund,
                order_id=order_id,
                invoice=invoice,
                number=f"CN/26-27/{n:06d}",
                issued_on=month + timedelta(days=20),
                invoice_number=invoice.number,
                invoice_date=invoice.issued_on,
                reason="Bench",
                amount_paise=invoice.total_paise,
                **{
                    name: getattr(invoice, name)
                    for name in (
                        "seller_name",
                        "seller_state",
                        "seller_gstin",
                        "buyer_name",
                        "buyer_state",
                        "buyer_gstin",
                        "place_of_supply",
                        "place_of_supply_code",
                        "intra_state",
                        "taxable_paise",
                        "gst_rate_percent",
                        "cgst_paise",
                        "sgst_paise",
                        "igst_paise",
                        "tax_paise",
                    )
                },
            )
        )
    CreditNote.objects.bulk_create(notes, batch_size=BATCH)

    # The year's history: suspensions and terminations, paid renewals (a tenth late).
    server_ids = list(Server.objects.order_by("pk").values_list("pk", "status", "order_id"))
    changes = [
        ServerStatusChange(server_id=pk, from_status="active", to_status=status, source="bench")
        for pk, status, _ in server_ids
        if status != "active"
    ]
    ServerStatusChange.objects.bulk_create(changes, batch_size=BATCH)
    q = quote(small, 1)
    renewal_orders = Order.objects.bulk_create(
        [
            Order(
                number=new_order_number(),
                user_id=users[i % len(users)],
                plan=small,
                status="paid",
                kind="renewal",
                renews_server_id=server_ids[i * 4][0],
                plan_slug=small.slug,
                plan_name=small.name,
                plan_vcpu=small.vcpu,
                plan_ram_gb=small.ram_gb,
                plan_disk_gb=small.disk_gb,
                unit_price_paise=q.unit_price_paise,
                subtotal_paise=q.subtotal_paise,
                gst_rate_percent=q.gst_rate_percent,
                tax_paise=q.tax_paise,
                total_paise=q.total_paise,
                paid_at=start - timedelta(days=i % 300),
            )
            for i in range(RENEWALS)
        ],
        batch_size=BATCH,
    )
    RenewalExtension.objects.bulk_create(
        [
            RenewalExtension(
                order=order,
                server_id=order.renews_server_id,
                months=1,
                old_paid_until=order.paid_at + timedelta(days=-2 if i % 10 else 3),
                new_paid_until=order.paid_at + timedelta(days=28),
                source="bench",
            )
            for i, order in enumerate(renewal_orders)
        ],
        batch_size=BATCH,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def gstr1_process(month: date):
    """The command as its own process under /usr/bin/time: seconds, its peak resident
    memory in MB (GNU time's %M), the file's MB."""
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "gstr1.json"
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-f", "peak_kb=%M", sys.executable, "manage.py", "gstr1", f"{month:%Y-%m}"]
            + ["--output", str(target)],
            cwd=REPO,
            env=ENV,
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        peak_kb = int(result.stderr.rsplit("peak_kb=", 1)[1].split()[0])
        return seconds, peak_kb / 1024, target.stat().st_size / 1e6


def page_timings(client, path, runs=7):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get(path).status_code == 200  # warm-up
    connection.queries_log.clear()  # DEBUG keeps the last 9,000: full after the inserts, which hides new ones
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], len(queries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="also update docs/benchmarks.md")
    parser.add_argument("--reuse", action="store_true", help="measure the world a previous run built")
    args = parser.parse_args()

    if not args.reuse:
        database_recreate(DB_NAME, ENV)
    django_setup(ENV)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    month = month_of_invoices(timezone.localdate())
    started = time.perf_counter()
    if not args.reuse:
        build_world(month)
    insert_seconds = time.perf_counter() - started
    seconds, peak_mb, file_mb = gstr1_process(month)

    staff = get_user_model().objects.filter(email="bench-staff@example.com").first()
    staff = staff or get_user_model().objects.create_superuser(
        email="bench-staff@example.com", password="bench-pass-123"
    )
    client = Client()
    client.force_login(staff)
    healthz = page_timings(client, "/healthz")
    reports = page_timings(client, "/admin/reports/")
    gst = page_timings(client, f"/admin/reports/gst/{month:%Y-%m}/")

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]

    def row(name, figures, target):
        median, p95, queries = figures
        return f"| {name} | {median:.0f} ms | {p95:.0f} ms | {p95 / healthz[1]:.0f}× | {queries} | {target} |"

    table = "\n".join(
        [
            f"PostgreSQL: {version}; {SERVERS:,} servers with their paid orders and stored invoices, all dated in "
            f"{month:%B %Y} (a fifth to 50 GSTIN buyers, a twentieth above ₹1,00,000 inter-state), {CREDIT_NOTES:,} "
            f"credit notes in that month, {RENEWALS:,} paid renewals; inserted in {insert_seconds:.0f} s with "
            "bulk_create. The machine has 2 cores shared with other jobs; figures vary by up to 2x between runs.",
            "",
            "| measure | result | target |",
            "| --- | --- | --- |",
            f"| `gstr1 {month:%Y-%m} --output FILE`, whole process | {seconds:.1f} s | < 30 s |",
            f"| the same, peak memory (maximum resident set of the process; Python and Django alone take about 75 MB) | {peak_mb:.0f} MB | < 200 MB |",
            f"| the JSON written | {file_mb:.1f} MB | |",
            "",
            "Pages with the Django test client as a superuser (DEBUG=True, no network), 7 runs after a warm-up; "
            "the ratio is p95 over `/healthz`'s p95 in the same run.",
            "",
            "| page | median | p95 | × /healthz p95 | SQL statements | target |",
            "| --- | --- | --- | --- | --- | --- |",
            row("GET /healthz", healthz, "(the reference)"),
            row("GET /admin/reports/", reports, "< 1 s"),
            row(f"GET /admin/reports/gst/{month:%Y-%m}/", gst, "< 1 s"),
            "",
            f"Command: `{COMMAND}` (the script creates and migrates `{DB_NAME}` itself).",
        ]
    )
    print(table)
    if args.write:
        write_docs_section(table)
    connection.close()


def write_docs_section(table):
    import bench.ops_bench as ops_bench

    ops_bench.HEADING = HEADING
    write_docs(table)


if __name__ == "__main__":
    main()
