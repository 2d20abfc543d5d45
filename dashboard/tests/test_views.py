import datetime

import pytest
from django.utils import timezone

from billing.factories import OrderFactory, credit_note_issued
from core.templatetags.money import rupees
from servers.factories import ServerFactory
from support.factories import TicketFactory


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def paid(user, plan, number, **fields):
    return OrderFactory(
        user=user,
        plan=plan,
        status="paid",
        invoice_number=f"HP/26-27/{number:06d}",
        invoice_date=datetime.date(2026, 11, number),
        paid_at=timezone.now() - datetime.timedelta(days=30 - number),
        **fields,
    )


def test_signing_in_lands_on_the_home_and_the_root_leads_there(client, alice):
    from accounts.factories import DEFAULT_PASSWORD

    response = client.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.url == "/home/"
    assert client.get("/").url == "/home/"


def test_a_visitor_at_the_root_goes_to_the_plans_and_the_home_asks_to_sign_in(client, db):
    assert client.get("/").url == "/plans/"
    assert client.get("/home/").url.startswith("/accounts/login/?next=/home/")


def test_a_new_customer_is_led_to_the_plans(alice_client):
    html = alice_client.get("/home/").text
    assert "You have no servers yet" in html and 'href="/plans/"' in html


def test_the_home_shows_servers_payments_due_tickets_awaiting_and_invoices(alice_client, alice, bob, plan):
    server = ServerFactory(order=paid(alice, plan, 1), status="active", ip_address="203.0.113.7")
    ServerFactory(order=paid(alice, plan, 2), status="terminated", name="gone-server")
    due = OrderFactory(user=alice, plan=plan, billing_cycle_months=3)
    OrderFactory(user=alice, plan=plan, needs_attention=True, attention_reason="mismatch")  # held for staff
    OrderFactory(user=alice, plan=plan, status="cancelled")
    waiting = TicketFactory(user=alice, status="awaiting_customer", subject="Which SSH key?")
    TicketFactory(user=alice, status="awaiting_staff", subject="Our turn")
    TicketFactory(user=bob, status="awaiting_customer", subject="Bob's question")
    paid(bob, plan, 9)

    response = alice_client.get("/home/")
    assert response.status_code == 200
    home = response.context["home"]
    assert [line.server for line in home.servers] == [server]
    assert [item.order for item in home.payments_due] == [due]
    assert home.tickets_awaiting_customer == [waiting]
    assert [o.invoice_number for o in home.recent_invoices] == ["HP/26-27/000002", "HP/26-27/000001"]
    html = response.text
    assert f'href="/orders/{due.number}/?pay=1"' in html and "Pay ₹7,929.60" in html
    assert "203.0.113.7" in html and "gone-server" not in html
    assert "Which SSH key?" in html and "Our turn" not in html and "Bob" not in html
    assert 'href="/orders/' in html and "/invoice.pdf" in html


def test_the_invoices_list_shows_only_the_customers_invoices_with_pdf_links(alice_client, alice, bob, plan):
    first, refunded = paid(alice, plan, 1), paid(alice, plan, 2)
    refunded.status = "refunded"
    refunded.save()
    OrderFactory(user=alice, plan=plan)  # unpaid: no invoice
    paid(bob, plan, 3)
    html = alice_client.get("/invoices/").text
    assert html.count("download>Download PDF</a>") == 2
    assert f'href="/orders/{first.number}/invoice.pdf"' in html and f'href="/orders/{refunded.number}/invoice/"' in html
    assert "HP/26-27/000003" not in html and "Refunded" in html
    assert html.index("HP/26-27/000002") < html.index("HP/26-27/000001")  # newest first


def test_the_invoices_list_shows_each_credit_note_under_its_invoice_with_html_and_pdf_links(
    alice_client, alice, bob, plan
):
    first, second = paid(alice, plan, 1), paid(alice, plan, 2)
    partial = credit_note_issued(first, 26432, reason="Goodwill")
    rest = credit_note_issued(first, first.total_paise - 26432, reason="Cancelled")
    credit_note_issued(paid(bob, plan, 3), 10000)  # another customer's: not shown
    html = alice_client.get("/invoices/").text
    for note in (partial, rest):
        assert f'href="/orders/{first.number}/credit-notes/{note.pk}/">{note.number}</a>' in html
        assert f'href="/orders/{first.number}/credit-notes/{note.pk}.pdf" download>' in html
        assert f"−{rupees(note.amount_paise)}" in html
    assert "−₹264.32" in html and "−₹2,378.88" in html  # 26432 and 264320 − 26432 paise, in rupees
    assert timezone.localdate().strftime("%-d %b %Y") in html  # the credit notes' own date
    assert "Refund on invoice" in html and html.count('href="/orders/' + first.number + '/invoice/"') == 3
    assert "CN/" in html and html.count("Credit note</span>") == 2
    # Newest invoice first, each followed by its own credit notes, oldest first.
    order = [html.index(text) for text in ("HP/26-27/000002", "HP/26-27/000001", partial.number, rest.number)]
    assert order == sorted(order)
    assert second.number in html and "HP/26-27/000003" not in html


@pytest.mark.parametrize("invoices", [1, 30])
def test_the_invoices_list_makes_the_same_few_queries_however_many_credit_notes(
    alice_client, alice, plan, invoices, django_assert_max_num_queries
):
    for number in range(1, invoices + 1):
        order = OrderFactory(
            user=alice, plan=plan, status="paid", invoice_number=f"HP/26-27/{number:06d}", paid_at=timezone.now()
        )
        credit_note_issued(order, 1000)
        credit_note_issued(order, 2000)
    # session, user, count, one page of invoices, their credit notes
    with django_assert_max_num_queries(5):
        html = alice_client.get("/invoices/").text
    assert html.count("Credit note</span>") == 2 * min(invoices, 25)


def test_the_invoices_list_has_an_empty_state(alice_client):
    assert "You have no invoices yet" in alice_client.get("/invoices/").text


def test_the_home_shows_days_left_and_renewals_due_with_their_date(alice_client, alice, plan):
    now = timezone.now()
    server = ServerFactory(order=paid(alice, plan, 1), status="active", paid_until=now + datetime.timedelta(days=5))
    late = ServerFactory(
        order=paid(alice, plan, 2),
        status="suspended",
        suspension_reason="overdue",
        paid_until=now - datetime.timedelta(days=4),
    )
    renewal = OrderFactory(user=alice, plan=plan, kind="renewal", renews_server=server, billing_cycle_months=1)

    response = alice_client.get("/home/")
    home = response.context["home"]
    assert {line.server.pk: line.days_left for line in home.servers} == {server.pk: 5, late.pk: -4}
    [due] = home.payments_due
    assert (due.order, due.server, due.due) == (renewal, server, server.paid_until)
    html = response.text
    assert f'Renewal of <a href="/servers/{server.pk}/">{server.name}</a>' in html
    assert f'href="/orders/{renewal.number}/?pay=1"' in html
    assert "5 days" in html and "overdue" in html
