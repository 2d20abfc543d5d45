from datetime import timedelta

import pytest
from django.utils import timezone

from servers.factories import ServerFactory
from servers.models import Server
from servers.selectors import servers_for_user, stuck_servers

pytestmark = pytest.mark.django_db


def server_in(status, minutes_ago, **fields):
    server = ServerFactory(status=status, **fields)
    then = timezone.now() - timedelta(minutes=minutes_ago)
    Server.objects.filter(pk=server.pk).update(status_changed_at=then, waiting_since=then)
    return server


def test_stuck_servers_are_long_pending_or_provisioning_or_failed(settings):
    settings.STUCK_SERVER_MINUTES = 15
    old_pending = server_in("pending", 16)
    old_provisioning = server_in("provisioning", 60)
    failed_just_now = server_in("failed", 0)
    server_in("pending", 14)
    server_in("provisioning", 1)
    server_in("active", 600)
    server_in("suspended", 600)
    server_in("terminated", 600)
    assert list(stuck_servers()) == [old_provisioning, old_pending, failed_just_now]


def test_stuck_servers_take_the_time_to_judge_by(settings):
    server = server_in("pending", 5)
    assert list(stuck_servers(now=timezone.now() + timedelta(minutes=11))) == [server]


def test_stuck_servers_and_their_orders_and_customers_load_in_one_query(django_assert_num_queries):
    for _ in range(3):
        server_in("failed", 30)
    with django_assert_num_queries(1):
        emails = [(server.order.number, server.order.user.email, server.user.email) for server in stuck_servers()]
    assert len(emails) == 3


def test_servers_for_user_lists_only_that_users_servers(alice, bob):
    mine = ServerFactory(order__user=alice, user=alice)
    ServerFactory(order__user=bob, user=bob)
    assert list(servers_for_user(alice)) == [mine]


def test_a_server_retrying_for_longer_than_the_limit_is_stuck_however_recent_its_last_flip(settings):
    """Retries move it provisioning -> pending -> provisioning; the customer has waited all along."""
    settings.STUCK_SERVER_MINUTES = 15
    retrying = server_in("pending", 1)
    Server.objects.filter(pk=retrying.pk).update(waiting_since=timezone.now() - timedelta(minutes=40))
    assert list(stuck_servers()) == [retrying]
