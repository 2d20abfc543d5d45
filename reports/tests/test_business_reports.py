"""/admin/reports/: the figures against a hand-computed world, the permission, the
charts as inline SVG with their tables, and the CSV of each."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission

from accounts.factories import UserFactory
from billing.factories import HostingPlanFactory, OrderFactory
from reports.selectors import business_reports
from servers.factories import ServerFactory
from servers.models import RenewalExtension, ServerStatusChange

from .world import credited, invoiced, ist

TODAY = datetime.date(2026, 12, 6)


def at(server_model_row, when, **fields):
    type(server_model_row).objects.filter(pk=server_model_row.pk).update(**fields, at=when)


@pytest.fixture
def world(db):
    small = HostingPlanFactory(slug="small", name="Small", price_paise=100000)
    large = HostingPlanFactory(slug="large", name="Large", price_paise=200000, discount_3m_percent=10)
    servers = [
        ServerFactory(order__plan=small, status="active"),
        ServerFactory(order__plan=small, status="active"),
        ServerFactory(order__plan=large, status="active"),
        ServerFactory(order__plan=large, status="active", billing_cycle_months=3),  # 5,400 a quarter
        ServerFactory(order__plan=small, status="suspended"),  # not recurring revenue while suspended
    ]
    # Revenue: October 2,240; November 2,240 + 1,120 less a credit note of 1,000 taxable (₹1,180).
    invoiced(ist(2026, 10, 5, 10), state="Kerala")
    november = invoiced(ist(2026, 11, 3, 10), price_paise=112000)
    invoiced(ist(2026, 11, 4, 10))
    credited(november, 118000, ist(2026, 11, 20, 10))
    # Suspended and terminated in November, one suspended in October.
    for to_status, when in (
        ("suspended", ist(2026, 11, 2)),
        ("terminated", ist(2026, 11, 25)),
        ("suspended", ist(2026, 10, 9)),
    ):
        change = ServerStatusChange.objects.create(server=servers[4], to_status=to_status, source="test")
        at(change, when)
    # Renewals due in November: one paid early, one paid late; one never paid (cancelled).
    for due, paid in ((ist(2026, 11, 10), ist(2026, 11, 3)), (ist(2026, 11, 12), ist(2026, 11, 14))):
        renewal = OrderFactory(kind="renewal", renews_server=servers[0], status="paid", paid_at=paid)
        extension = RenewalExtension.objects.create(
            order=renewal,
            server=servers[0],
            months=1,
            old_paid_until=due,
            new_paid_until=due + datetime.timedelta(days=30),
            source="test",
        )
        at(extension, paid)
    autopay_paid(renewal)  # the late one was paid by an autopay debit
    type(servers[4]).objects.filter(pk=servers[4].pk).update(paid_until=ist(2026, 11, 18))
    OrderFactory(kind="renewal", renews_server=servers[4], status="cancelled")
    return servers


def autopay_paid(renewal):
    from lifecycle.autopay.models import AutopayDebit, AutopayMandate

    mandate = AutopayMandate.objects.create(
        server=renewal.renews_server,
        user=renewal.user,
        registered_by=OrderFactory(status="paid"),
        razorpay_customer_id="cust_T1",
        razorpay_token_id="token_T1",
        contact="9876543210",
        max_amount_paise=1500000,
        status="active",
    )
    AutopayDebit.objects.create(order=renewal, mandate=mandate, amount_paise=renewal.total_paise, status="captured")


def report(key):
    return next(item for item in business_reports(TODAY) if item.key == key)


def column(item, name, label):
    (values,) = [values for column_name, values in item.columns if column_name == name]
    return values[item.labels.index(label)]


def test_mrr_is_each_active_servers_renewal_price_per_month(world):
    mrr = report("mrr")
    # Small: 2 × 1,000; Large: 2,000 + 5,400 / 3 = 1,800.
    assert mrr.labels == ["Large", "Small"]
    assert mrr.columns == [("MRR", [380000, 200000]), ("Active servers", [2, 2])]
    assert mrr.headline == "₹5,800.00 a month from 4 active servers"


def test_revenue_and_gst_by_month_are_invoices_less_credit_notes(world):
    revenue = report("revenue")
    assert revenue.labels[-3:] == ["Oct 26", "Nov 26", "Dec 26"] and len(revenue.labels) == 12
    assert [column(revenue, "Net", month) for month in ("Oct 26", "Nov 26", "Dec 26")] == [224000, 236000, 0]
    assert column(revenue, "Credited", "Nov 26") == 100000
    gst = report("gst")
    # November: 1,120 within Karnataka (CGST 100.80 + SGST 100.80) + 2,240 (201.60 + 201.60), less 180 (90 + 90).
    assert (column(gst, "CGST", "Nov 26"), column(gst, "SGST", "Nov 26"), column(gst, "IGST", "Nov 26")) == (
        21240,
        21240,
        0,
    )
    assert column(gst, "IGST", "Oct 26") == 40320


def test_servers_by_month_and_renewals_by_due_date(world):
    paid = report("servers-paid")
    assert column(paid, "New", "Nov 26") == 2 and column(paid, "New", "Oct 26") == 1
    assert column(paid, "Renewed", "Nov 26") == 2 and column(paid, "Upgraded", "Nov 26") == 0
    lost = report("servers-lost")
    assert (column(lost, "Suspended", "Nov 26"), column(lost, "Terminated", "Nov 26")) == (1, 1)
    assert column(lost, "Suspended", "Oct 26") == 1
    renewals = report("renewals")
    assert [column(renewals, name, "Nov 26") for name in ("On time", "Late", "Never")] == [1, 1, 1]
    autopay = report("autopay")
    assert [column(autopay, name, "Nov 26") for name in ("By autopay", "By hand", "Autopay share (%)")] == [1, 1, 50]
    assert column(autopay, "Autopay share (%)", "Oct 26") == 0


@pytest.fixture
def owner(db):
    user = UserFactory(email="owner@example.com", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_business_reports", content_type__app_label="billing")
    )
    return user


def test_the_reports_need_their_own_permission(world, client):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_gst_return"))
    client.force_login(clerk)
    assert client.get("/admin/reports/").status_code == 403
    assert client.get("/admin/reports/revenue.csv").status_code == 403


def test_the_page_draws_each_chart_as_svg_with_its_table_and_csv_link(world, client, owner):
    client.force_login(owner)
    page = client.get("/admin/reports/").content.decode()
    for key in ("mrr", "revenue", "gst", "servers-paid", "servers-lost", "autopay", "renewals"):
        section = page.split(f'id="report-{key}"')[1].split("</section>")[0]
        assert '<svg class="chart"' in section and "<table>" in section
        assert f'href="/admin/reports/{key}.csv"' in section
    assert "<script" not in page.split('id="content-main"')[1]
    assert "Autopay&#x27;s share of paid renewals" in page


def test_the_csv_holds_the_tables_numbers_with_rupees_to_the_paisa(world, client, owner):
    client.force_login(owner)
    response = client.get("/admin/reports/mrr.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["Plan", "MRR", "Active servers"], ["Large", "3800.00", "2"], ["Small", "2000.00", "2"]]
    assert client.get("/admin/reports/nothing.csv").status_code == 404


def test_mrr_counts_an_upgraded_server_at_its_new_plan_and_a_scheduled_downgrade_at_the_plan_it_renews_at(db):
    small = HostingPlanFactory(slug="small", name="Small", price_paise=100000)
    large = HostingPlanFactory(slug="large", name="Large", price_paise=200000)
    ServerFactory(order__plan=small, plan=large, status="active")  # upgraded: runs Large now
    ServerFactory(order__plan=large, status="active", plan_change_to=small)  # renews as Small
    mrr = report("mrr")
    assert dict(zip(mrr.labels, mrr.columns[0][1], strict=True)) == {"Large": 200000, "Small": 100000}
