"""The admin reads like a back office: money in rupees, readable dates, links between
a customer's records, the customer's whole history on one page, a greeting that says
who is signed in."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts.factories import UserFactory
from billing.factories import OrderFactory, PaymentFactory, RefundFactory, credit_note_issued
from servers.factories import ServerFactory, ServerStatusChangeFactory
from support.factories import TicketFactory, TicketMessageFactory

pytestmark = pytest.mark.django_db
RAW_PAISE = re.compile(r">\s*(264320|224000|40320)\s*<")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def sale(alice, plan):
    order = OrderFactory(
        user=alice,
        plan=plan,
        status="paid",
        buyer_state="Maharashtra",
        invoice_number="HP/26-27/000007",
        invoice_date=datetime.date(2026, 11, 26),
        paid_at=timezone.now(),
    )
    payment = PaymentFactory(order=order, razorpay_payment_id="pay_SALE000000001")
    refund = RefundFactory(payment=payment, amount_paise=50000, razorpay_refund_id="rfnd_SALE00000001")
    server = ServerFactory(order=order, status="active", hostname="web1.example.net", ip_address="203.0.113.7")
    ServerStatusChangeFactory(server=server, from_status="provisioning", to_status="active")
    ticket = TicketFactory(user=alice, server=server, subject="Port 22 closed")
    TicketMessageFactory(ticket=ticket, body="Please open port 22")
    return {"order": order, "payment": payment, "refund": refund, "server": server, "ticket": ticket}


def test_the_order_page_shows_rupees_the_gst_split_and_links_to_everything_around_it(staff_client, sale, alice):
    order = sale["order"]
    html = staff_client.get(f"/admin/billing/order/{order.pk}/change/").text
    assert "₹2,240.00" in html and "₹2,643.20" in html and "IGST 18% ₹403.20" in html
    assert not RAW_PAISE.search(html), RAW_PAISE.search(html)
    assert f'href="/admin/customers/{alice.pk}/"' in html  # the customer's whole history
    assert f'href="/admin/servers/server/{sale["server"].pk}/change/"' in html
    assert 'href="/admin/invoices/' + order.number + '/"' in html
    assert f'href="/admin/support/ticket/{sale["ticket"].pk}/change/"' in html
    assert f'href="/admin/billing/payment/{sale["payment"].pk}/change/"' in html
    assert "rfnd_SALE00000001 ₹500.00 processed" in html


@pytest.fixture
def credited(sale):
    """The sale's ₹500.00 refund with the credit note billing issues for it, and a second one."""
    from billing.credit_notes import credit_note_issue

    first = credit_note_issue(sale["order"], sale["refund"])
    second = credit_note_issued(sale["order"], 26432, reason="Goodwill for downtime")
    return [first, second]


def test_the_order_page_links_each_credit_note_with_its_amount_in_rupees(staff_client, sale, credited):
    html = staff_client.get(f"/admin/billing/order/{sale['order'].pk}/change/").text
    for note, amount in zip(credited, ["₹500.00", "₹264.32"], strict=True):
        assert f'href="/admin/billing/creditnote/{note.pk}/change/">{note.number} of ' in html
        assert f"{amount}</a>" in html
    assert "Credit notes: " in html and not RAW_PAISE.search(html)


def test_an_order_without_refunds_says_it_has_no_credit_notes(staff_client, sale):
    html = staff_client.get(f"/admin/billing/order/{sale['order'].pk}/change/").text
    assert "Credit notes: —" in html


def test_the_credit_note_page_is_read_only_in_rupees_and_links_order_invoice_refund_and_customer(
    staff_client, sale, credited, alice
):
    note = credited[1]
    url = f"/admin/billing/creditnote/{note.pk}/change/"
    html = staff_client.get(url).text
    for text in [note.number, "₹264.32", "₹224.00", "₹40.32", "Goodwill for downtime", "HP/26-27/000007"]:
        assert text in html, text
    assert f'href="/admin/billing/order/{sale["order"].pk}/change/"' in html
    assert f'href="/admin/invoices/{sale["order"].number}/"' in html  # the original invoice, as staff see it
    assert f'href="/admin/billing/refund/{note.refund.pk}/change/"' in html
    assert f'href="/admin/customers/{alice.pk}/"' in html
    assert not RAW_PAISE.search(html) and not re.search(r">\s*(26432|22400|4032)\s*<", html)
    assert 'name="_save"' not in html and "<textarea" not in html  # a stored document: nothing to edit
    before = {f.attname: getattr(note, f.attname) for f in note._meta.concrete_fields}
    assert staff_client.post(url, {"reason": "edited", "amount_paise": 1}).status_code == 403
    note.refresh_from_db()
    assert {f.attname: getattr(note, f.attname) for f in note._meta.concrete_fields} == before
    assert staff_client.get("/admin/billing/creditnote/add/").status_code == 403
    assert staff_client.get(f"/admin/billing/creditnote/{note.pk}/delete/").status_code == 403
    listing = staff_client.get("/admin/billing/creditnote/").text
    assert "₹500.00" in listing and "₹264.32" in listing and sale["order"].number in listing


def test_the_order_list_shows_rupees_customers_and_readable_dates(staff_client, sale):
    html = staff_client.get("/admin/billing/order/").text
    assert "₹2,643.20" in html and "alice@example.com" in html
    assert timezone.localtime(sale["order"].paid_at).strftime("%-d %b %Y") in html
    assert not RAW_PAISE.search(html)


def test_the_flagged_filter_lists_orders_still_waiting_for_a_human(staff_client, alice, plan, staff):
    waiting = OrderFactory(user=alice, plan=plan, needs_attention=True, attention_reason="Amount mismatch")
    handled = OrderFactory(
        user=alice, plan=plan, needs_attention=True, handled_at=timezone.now(), handled_by=staff, handled_reason="ok"
    )
    calm = OrderFactory(user=alice, plan=plan)
    html = staff_client.get("/admin/billing/order/?flagged=waiting").text
    assert waiting.number in html and handled.number not in html and calm.number not in html
    html = staff_client.get("/admin/billing/order/?flagged=handled").text
    assert handled.number in html and waiting.number not in html


def test_payment_and_refund_pages_show_rupees_and_link_back(staff_client, sale):
    payment, refund = sale["payment"], sale["refund"]
    html = staff_client.get(f"/admin/billing/payment/{payment.pk}/change/").text
    assert "₹2,643.20" in html and f'href="/admin/billing/order/{sale["order"].pk}/change/"' in html
    assert not RAW_PAISE.search(html)
    html = staff_client.get(f"/admin/billing/refund/{refund.pk}/change/").text
    assert "₹500.00" in html and f'href="/admin/billing/payment/{payment.pk}/change/"' in html
    assert "₹2,643.20" in staff_client.get("/admin/billing/payment/").text


def test_the_customer_page_shows_their_whole_history(staff_client, sale, alice, bob, plan):
    OrderFactory(user=bob, plan=plan, number="ORD-BOBBOBBOB1")
    html = staff_client.get(f"/admin/customers/{alice.pk}/").text
    order = sale["order"]
    for text in [
        order.number,
        "HP/26-27/000007",
        "pay_SALE000000001",
        "rfnd_SALE00000001",
        "web1.example.net",
        "Port 22 closed",
        "provisioning → active",
        "Customer message",
        "₹2,643.20",
    ]:
        assert text in html, text
    assert "ORD-BOBBOBBOB1" not in html


def test_the_customer_page_lists_their_credit_notes_linked_with_date_and_rupees(staff_client, sale, credited, alice):
    html = staff_client.get(f"/admin/customers/{alice.pk}/").text
    section = html[html.index('id="credit-notes"') : html.index('id="servers"')]
    assert "Credit notes (2)" in section
    for note, amount in zip(credited, ["₹500.00", "₹264.32"], strict=True):
        assert f'<a href="/admin/billing/creditnote/{note.pk}/change/">{note.number}</a>' in section
        assert f'<td class="num">{amount}</td>' in section
    assert timezone.localdate().strftime("%-d %b %Y") in section
    assert f'<a href="/admin/invoices/{sale["order"].number}/">HP/26-27/000007</a>' in section
    assert "Goodwill for downtime" in section and not RAW_PAISE.search(section)


def test_the_customer_page_makes_the_same_queries_however_many_credit_notes(staff_client, sale, alice, plan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(f"/admin/customers/{alice.pk}/").status_code == 200
        return len(captured)

    credit_note_issued(sale["order"], 1000)
    one = queries()
    for number in range(8, 11):
        order = OrderFactory(
            user=alice, plan=plan, status="paid", invoice_number=f"HP/26-27/{number:06d}", paid_at=timezone.now()
        )
        credit_note_issued(order, 2000)
        credit_note_issued(order, 3000)
    assert queries() == one


def test_the_customer_page_and_staff_invoice_need_view_permissions(client, sale, alice):
    helpdesk = UserFactory(email="helpdesk@example.com", is_staff=True)
    client.force_login(helpdesk)
    assert client.get(f"/admin/customers/{alice.pk}/").status_code == 403
    assert client.get(f"/admin/invoices/{sale['order'].number}/").status_code == 403
    helpdesk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_user", "view_order"], content_type__app_label__in=["accounts", "billing"]
        )
    )
    assert client.get(f"/admin/customers/{alice.pk}/").status_code == 200
    invoice = client.get(f"/admin/invoices/{sale['order'].number}/")
    assert invoice.status_code == 200 and "IGST @ 18%" in invoice.text
    pdf = client.get(f"/admin/invoices/{sale['order'].number}/?pdf=1")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_customers_cannot_open_the_back_office_pages(client, sale, alice):
    client.force_login(alice)
    assert client.get(f"/admin/customers/{alice.pk}/").status_code == 302  # to the admin sign-in
    assert client.get(f"/admin/invoices/{sale['order'].number}/").status_code == 302


def test_the_admin_greets_staff_by_name_and_email_not_by_a_first_word(client, db):
    admin_user = UserFactory(email="admin@example.com", full_name="Demo Admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    html = client.get("/admin/").text
    assert "Signed in as <strong>Demo Admin (admin@example.com)</strong>" in html
    assert "<strong>Demo</strong>" not in html


def test_ticket_messages_are_named_readably(staff_client, sale, staff):
    message = TicketMessageFactory(ticket=sale["ticket"], author=staff, is_staff_reply=True, body="Opened it")
    assert re.fullmatch(rf"Staff reply on ticket #{sale['ticket'].pk}, \d+ \w{{3}} \d{{4}}, \d\d:\d\d", str(message))
    html = staff_client.get("/admin/support/ticketmessage/").text
    assert "Staff reply on ticket #" in html and "message 1 on ticket" not in html


def test_server_list_filters_what_is_due_this_week_overdue_and_suspended(staff_client, alice, plan):
    now = timezone.now()

    def server(name, status="active", **fields):
        return ServerFactory(
            order=OrderFactory(user=alice, plan=plan, status="paid"), name=name, status=status, **fields
        )

    server("due-soon", paid_until=now + datetime.timedelta(days=3))
    server("overdue-one", status="suspended", suspension_reason="overdue", paid_until=now - datetime.timedelta(days=4))
    server("paid-ahead", paid_until=now + datetime.timedelta(days=40))
    server("gone", status="terminated", paid_until=now - datetime.timedelta(days=30))

    def names(query):
        html = staff_client.get(f"/admin/servers/server/?{query}").text
        return {n for n in ["due-soon", "overdue-one", "paid-ahead", "gone"] if f">{n}<" in html}

    assert names("due=week") == {"due-soon"}
    assert names("due=overdue") == {"overdue-one"}
    assert names("due=later") == {"paid-ahead"}
    assert names("status__exact=suspended") == {"overdue-one"}
    listing = staff_client.get("/admin/servers/server/").text
    assert "overdue 4 d" in listing or "overdue 3 d" in listing
    assert "alice@example.com" in listing


def test_the_server_page_links_its_customer_order_and_tickets(staff_client, sale, alice):
    server = sale["server"]
    html = staff_client.get(f"/admin/servers/server/{server.pk}/change/").text
    assert f'href="/admin/customers/{alice.pk}/"' in html
    assert f'href="/admin/billing/order/{sale["order"].pk}/change/"' in html
    assert f'href="/admin/support/ticket/{sale["ticket"].pk}/change/"' in html
    assert '<select name="order"' not in html and '<select name="user"' not in html


def test_the_ticket_list_filters_tickets_awaiting_a_staff_reply(staff_client, alice):
    new = TicketFactory(user=alice, subject="Brand new question", status="open")
    answered = TicketFactory(user=alice, subject="Customer answered", status="awaiting_staff")
    ours = TicketFactory(user=alice, subject="Waiting on the customer", status="awaiting_customer")
    TicketFactory(user=alice, subject="All done", status="closed")
    html = staff_client.get("/admin/support/ticket/?waiting_on=staff").text
    assert new.subject in html and answered.subject in html and ours.subject not in html and "All done" not in html
    html = staff_client.get("/admin/support/ticket/?waiting_on=customer").text
    assert ours.subject in html and new.subject not in html


def test_the_ticket_page_shows_readable_dates_and_a_readable_thread(staff_client, sale, alice):
    from servers.factories import ProvisioningAttemptFactory

    ProvisioningAttemptFactory(server=sale["server"], number=1)
    ticket = sale["ticket"]
    html = staff_client.get(f"/admin/support/ticket/{ticket.pk}/change/").text
    assert f"Customer message on ticket #{ticket.pk}" in html
    assert f'href="/admin/customers/{alice.pk}/"' in html
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", html), re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", html)


def test_the_user_page_links_to_the_customers_history(staff_client, alice):
    assert f'href="/admin/customers/{alice.pk}/"' in staff_client.get(f"/admin/accounts/user/{alice.pk}/change/").text
    assert f'href="/admin/customers/{alice.pk}/"' in staff_client.get("/admin/accounts/user/").text


def test_staff_open_each_credit_note_as_html_and_pdf_from_the_order_and_credit_note_pages(client, sale, credited):
    # Issue 28: the customer's URL answers 404 to staff; the back office has its own view, as for invoices.
    helpdesk = UserFactory(email="helpdesk@example.com", is_staff=True)
    client.force_login(helpdesk)
    note = credited[1]
    assert client.get(f"/admin/credit-notes/{note.pk}/").status_code == 403
    helpdesk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_creditnote"], content_type__app_label="billing")
    )
    page = client.get(f"/admin/credit-notes/{note.pk}/")
    assert page.status_code == 200
    for text in [note.number, "₹264.32", "Goodwill for downtime", "HP/26-27/000007", "Staff view of alice@example.com"]:
        assert text in page.text, text
    pdf = client.get(f"/admin/credit-notes/{note.pk}/?pdf=1")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    order_page = client.get(f"/admin/billing/order/{sale['order'].pk}/change/").text
    note_page = client.get(f"/admin/billing/creditnote/{note.pk}/change/").text
    for html in (order_page, note_page):
        assert f'href="/admin/credit-notes/{note.pk}/"' in html and f'href="/admin/credit-notes/{note.pk}/?pdf=1"' in html
    assert client.get("/admin/credit-notes/999999/").status_code == 404


def test_everything_that_happened_includes_power_requests_and_cancellation_switches(staff_client, sale, alice):
    """They appeared only on the server's page; staff reading a customer's history missed them."""
    from servers.models import ServerEvent

    server = sale["server"]
    ServerEvent.objects.create(server=server, kind="reboot_requested", source="customer", actor=alice)
    ServerEvent.objects.create(server=server, kind="cancel_at_period_end", source="customer", actor=alice)
    ServerEvent.objects.create(server=server, kind="cancellation_withdrawn", source="customer", actor=alice)
    html = staff_client.get(f"/admin/customers/{alice.pk}/").text
    timeline = html[html.index("Everything that happened") :]
    for text in ("Reboot requested", "Cancel at period end", "Cancellation withdrawn"):
        assert text in timeline, text
