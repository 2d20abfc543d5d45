"""Simulated payments and provisioning are said on every page, the admin's included,
so nobody mistakes a development portal for one that takes money or makes servers."""

import pytest

BANNER = "payments are simulated"
PAGES = ["/plans/", "/orders/", "/admin/", "/admin/orphaned-orders/", "/admin/billing/order/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_says_payments_and_servers_are_simulated(client, staff, settings, path):
    settings.PAYMENTS_SIMULATED, settings.PROVISIONING_BACKEND = True, "simulated"
    client.force_login(staff)
    page = client.get(path).content.decode()
    assert 'class="banner-simulated"' in page and BANNER in page and "servers are simulated" in page


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_no_banner_when_payments_and_servers_are_real(client, staff, settings, path):
    settings.PAYMENTS_SIMULATED, settings.PROVISIONING_BACKEND = False, "libcloud"
    client.force_login(staff)
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="banner-simulated"' not in page and BANNER not in page
