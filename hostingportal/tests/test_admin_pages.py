"""Every admin list page, with its search, filters and a detail page, answers 200 for
staff on real rows. Staff run the business from these pages, and their queries
go through the same database options as the payment path (server-side binding
and prepared statements on PostgreSQL), so each one is run here."""

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.factories import OrderFactory, WebhookEventFactory
from servers.factories import ServerFactory

pytestmark = pytest.mark.django_db

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def rows(alice, plan):
    order = OrderFactory(user=alice, plan=plan, status="paid")
    ServerFactory(order=order, user=alice)
    WebhookEventFactory(status="failed", error="boom")


@pytest.mark.parametrize("model,model_admin", MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_list_search_filters_and_detail_pages_answer(client, staff, rows, model, model_admin):
    client.force_login(staff)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    if model_admin.search_fields:
        assert client.get(changelist, {"q": "ORD 42 x@example.com"}).status_code == 200
    for list_filter in model_admin.list_filter:
        if isinstance(list_filter, str) and "__" not in list_filter:
            field = opts.get_field(list_filter)
            for value in [choice for choice, _ in (field.choices or [])][:3]:
                answer = client.get(changelist, {list_filter: value})
                assert answer.status_code in (200, 302), f"{list_filter}={value}"
    first = model_admin.get_queryset(admin_request(staff)).first()
    if first is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        assert client.get(change).status_code == 200


def admin_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
