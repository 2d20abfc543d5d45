from datetime import timedelta

import pytest

from servers.factories import ServerFactory, ServerStatusChangeFactory


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def server_with_history(user, *statuses, **fields):
    server = ServerFactory(order__user=user, user=user, status=statuses[-1], **fields)
    previous = ""
    for status in statuses:
        ServerStatusChangeFactory(server=server, from_status=previous, to_status=status)
        previous = status
    return server


# --- My Servers ------------------------------------------------------------------


def test_my_servers_lists_only_the_customers_servers(alice_client, alice, bob):
    mine = ServerFactory(order__user=alice, user=alice, name="alice-box")
    ServerFactory(order__user=bob, user=bob, name="bob-box")
    response = alice_client.get("/servers/")
    assert response.status_code == 200
    assert "alice-box" in response.text and "bob-box" not in response.text
    assert f'href="/servers/{mine.pk}/"' in response.text
    assert mine.order.plan_name in response.text


def test_hostname_and_address_show_once_the_server_is_active(alice_client, alice):
    ServerFactory(order__user=alice, user=alice, status="active", hostname="web1.example.net", ip_address="203.0.113.7")
    ServerFactory(
        order__user=alice, user=alice, status="provisioning", hostname="web2.example.net", ip_address="203.0.113.8"
    )
    response = alice_client.get("/servers/")
    assert "web1.example.net" in response.text and "203.0.113.7" in response.text
    assert "web2.example.net" not in response.text and "203.0.113.8" not in response.text
    assert '<span class="badge active">Active</span>' in response.text
    assert '<span class="badge provisioning">Provisioning</span>' in response.text


def test_with_no_servers_the_page_leads_to_the_plans(alice_client):
    response = alice_client.get("/servers/")
    assert "You have no servers yet" in response.text and 'href="/plans/"' in response.text


def test_my_servers_shows_25_a_page(alice_client, alice):
    for _ in range(26):
        ServerFactory(order__user=alice, user=alice)
    assert alice_client.get("/servers/").text.count('<td data-label="Name"><a href="/servers/') == 25
    assert alice_client.get("/servers/?page=2").text.count('<td data-label="Name"><a href="/servers/') == 1


@pytest.mark.parametrize("rows", [1, 200])
def test_my_servers_makes_the_same_few_queries_however_many_servers(
    alice_client, alice, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        ServerFactory(order__user=alice, user=alice)
    with django_assert_max_num_queries(4):  # session, user, count, one page of servers with orders
        assert alice_client.get("/servers/").status_code == 200


def test_my_servers_asks_a_visitor_to_sign_in(client):
    assert client.get("/servers/").url.startswith("/accounts/login/")


# --- Server detail ---------------------------------------------------------------


def test_a_server_being_set_up_shows_its_timeline_and_polls_for_changes(alice_client, alice):
    server = server_with_history(alice, "pending", "provisioning")
    response = alice_client.get(f"/servers/{server.pk}/")
    assert response.status_code == 200
    assert f'hx-get="/servers/{server.pk}/status/"' in response.text
    assert 'hx-trigger="every 2s"' in response.text
    timeline = response.text.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert timeline.index(">Pending<") < timeline.index(">Provisioning<") < timeline.index(">Active<")
    assert "to come" in timeline
    assert '<meta http-equiv="refresh"' in response.text  # without JavaScript the page reloads instead


def test_the_status_partial_stops_polling_once_the_server_is_active(alice_client, alice):
    server = server_with_history(
        alice, "pending", "provisioning", "active", hostname="web1.example.net", ip_address="203.0.113.7"
    )
    response = alice_client.get(f"/servers/{server.pk}/status/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="server-status"')
    assert "hx-trigger" not in response.text
    assert "web1.example.net" in response.text and "203.0.113.7" in response.text
    assert "to come" not in response.text


def test_a_failed_server_says_what_happens_next_and_stops_polling(alice_client, alice):
    server = server_with_history(alice, "pending", "provisioning", "failed")
    response = alice_client.get(f"/servers/{server.pk}/")
    assert "Setting up this server failed" in response.text
    assert "What happens next" in response.text
    assert "hx-trigger" not in response.text


def test_status_change_notes_meant_for_staff_are_not_shown(alice_client, alice):
    server = ServerFactory(order__user=alice, user=alice, status="failed")
    ServerStatusChangeFactory(server=server, to_status="failed", note="libcloud: API key rejected")
    assert "API key rejected" not in alice_client.get(f"/servers/{server.pk}/").text


def test_the_detail_page_links_to_a_support_ticket_about_the_server(alice_client, alice):
    server = ServerFactory(order__user=alice, user=alice)
    response = alice_client.get(f"/servers/{server.pk}/")
    assert f'/support/new/?server={server.pk}"' in response.text
    assert f'href="/orders/{server.order.number}/"' in response.text


@pytest.mark.parametrize("path", ["/servers/{}/", "/servers/{}/status/"])
def test_another_customers_server_is_404(alice_client, bob, path):
    server = ServerFactory(order__user=bob, user=bob)
    assert alice_client.get(path.format(server.pk)).status_code == 404


@pytest.mark.parametrize("changes", [1, 200])
def test_the_detail_page_makes_the_same_few_queries_however_long_the_history(
    alice_client, alice, changes, django_assert_max_num_queries
):
    server = ServerFactory(order__user=alice, user=alice, status="provisioning")
    ServerStatusChangeFactory.create_batch(changes, server=server, to_status="provisioning")
    # session, user, server with order and plan, history, lifecycle events, unpaid renewal
    with django_assert_max_num_queries(6):
        assert alice_client.get(f"/servers/{server.pk}/").status_code == 200


def test_the_status_poll_brings_the_billing_card_once_the_server_is_active(alice_client, alice):
    """Renew and Cancel live in the billing card, outside the polled part: it comes along
    out of band when polling ends, so the controls appear without a reload."""
    server = server_with_history(alice, "pending", "provisioning", "active", hostname="web1.example.net")
    server.paid_until = server.created_at + timedelta(days=30)
    server.save(update_fields=["paid_until"])
    response = alice_client.get(f"/servers/{server.pk}/status/", HTTP_HX_REQUEST="true")
    assert '<section id="subscription" class="card" aria-labelledby="subscription-heading" hx-swap-oob="true">' in (
        response.text
    )
    assert "Cancel at end of period" in response.text and "Renew" in response.text


def test_while_the_server_is_being_set_up_the_poll_sends_only_the_status(alice_client, alice):
    server = server_with_history(alice, "pending")
    response = alice_client.get(f"/servers/{server.pk}/status/", HTTP_HX_REQUEST="true")
    assert 'id="subscription"' not in response.text
