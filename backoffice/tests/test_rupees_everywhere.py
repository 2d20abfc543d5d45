"""No admin page shows a raw `*_paise` column: lists and change pages show money in rupees."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def staff_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("model,model_admin", MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_no_admin_list_or_page_shows_raw_paise(model, model_admin, staff):
    request = staff_request(staff)
    shown = list(model_admin.get_list_display(request))
    obj = model_admin.get_queryset(request).first() or model()
    # The change page shows its fieldsets (which default to get_fields when none are declared).
    for fieldset in model_admin.get_fieldsets(request, obj):
        for field in fieldset[1]["fields"]:
            shown += list(field) if isinstance(field, (list, tuple)) else [field]
    for inline in model_admin.get_inline_instances(request, obj):
        shown += [f for f in inline.get_fields(request, obj) if isinstance(f, str)]
    raw = sorted({name for name in shown if isinstance(name, str) and name.endswith("_paise")})
    assert raw == [], f"{model._meta.label}: show these in rupees (core.display.rupee_field): {raw}"


@pytest.mark.django_db
def test_staff_set_a_plans_price_in_rupees_stored_exactly_in_paise(client, staff):
    from billing.models import HostingPlan

    client.force_login(staff)
    form = {
        "slug": "g-2gb",
        "name": "G.2GB",
        "vcpu": 1,
        "ram_gb": 2,
        "disk_gb": 40,
        "is_active": "on",
        "discount_3m_percent": 0,
        "discount_6m_percent": 0,
        "discount_12m_percent": 0,
        "sort_order": 0,
    }
    answer = client.post("/admin/billing/hostingplan/add/", {**form, "price_rupees": "560.50"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    plan = HostingPlan.objects.get(slug="g-2gb")
    assert plan.price_paise == 56050
    assert 'value="560.50"' in client.get(f"/admin/billing/hostingplan/{plan.pk}/change/").text

    # Django's DecimalField read "1e3" as ₹1,000 and "-0" as zero; what cannot be read
    # exactly is refused with a message and changes nothing.
    for typed in ["560.505", "1e3", "5,600", "-560", "0", "0.00", "₹560", "५६०"]:
        refused = client.post(f"/admin/billing/hostingplan/{plan.pk}/change/", {**form, "price_rupees": typed})
        assert refused.status_code == 200 and "errornote" in refused.text, typed
        plan.refresh_from_db()
        assert plan.price_paise == 56050, typed


def test_paise_from_rupees_is_exact_or_refuses():
    from decimal import Decimal

    from billing.pricing import PricingError, paise_from_rupees

    assert paise_from_rupees(Decimal("2240.50")) == 224050 and paise_from_rupees(Decimal("0.01")) == 1
    for bad in [Decimal("1.005"), Decimal("-1"), Decimal("NaN"), 12.5]:
        with pytest.raises(PricingError):
            paise_from_rupees(bad)
