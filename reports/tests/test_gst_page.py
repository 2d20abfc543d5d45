"""/admin/reports/gst/<YYYY-MM>/: the month's sections, tax heads against the month
before, and the same JSON to download, for staff holding billing.view_gst_return."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from accounts.factories import UserFactory

from .world import credited, gstin, invoiced, ist


@pytest.fixture
def accountant(db):
    user = UserFactory(email="accounts@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_gst_return", content_type__app_label="billing"))
    return user


@pytest.fixture
def month(db):
    invoiced(ist(2026, 10, 5, 10), state="Kerala")  # October: ₹2,240.00 + IGST ₹403.20
    intra = invoiced(ist(2026, 11, 3, 10), buyer_gstin=gstin("29"))
    invoiced(ist(2026, 11, 4, 10), state="Kerala")
    invoiced(ist(2026, 11, 5, 10), price_paise=10_000_000, state="Tamil Nadu")
    credited(intra, intra.total_paise, ist(2026, 11, 20, 10))


def test_staff_without_the_permission_are_refused(month, client):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/reports/gst/2026-11/").status_code == 403
    assert client.get("/admin/reports/gst/2026-11/gstr1.json").status_code == 403
    client.logout()
    assert client.get("/admin/reports/gst/2026-11/").status_code == 302  # to the admin's sign-in


def test_the_page_shows_each_sections_totals_and_counts_and_the_change_from_last_month(month, client, accountant):
    client.force_login(accountant)
    page = client.get("/admin/reports/gst/2026-11/").content.decode()
    assert "GSTR-1 for November 2026" in page
    sections = page.split('id="gst-sections"')[1].split("</table>")[0]
    assert 'B2B: invoices to GSTIN buyers</th>\n          <td class="num">1</td>' in sections
    assert '<td class="num">₹1,00,000.00</td><td class="num">₹18,000.00</td>' in sections  # B2CL
    assert "1 less 0" in sections and "3 less 1" in sections  # b2cs; the net: 3 invoices less a credit note
    heads = page.split('id="gst-heads"')[1].split("</table>")[0]
    # Net taxable: 2,240 (Kerala) + 1,00,000 (Tamil Nadu) against October's 2,240.
    assert '<th scope="row">Taxable value</th><td class="num">₹1,02,240.00</td><td class="num">₹2,240.00</td>' in heads
    assert '<td class="num">₹1,00,000.00</td><td class="num">+4464.3%</td>' in heads
    assert 'href="/admin/reports/gst/2026-10/"' in page and 'href="/admin/reports/gst/2026-12/"' in page


def test_the_download_is_the_same_json_as_the_command(month, client, accountant):
    import io

    client.force_login(accountant)
    response = client.get("/admin/reports/gst/2026-11/gstr1.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert 'filename="GSTR1_112026_29AAGCB7383J1Z4.json"' in response["Content-Disposition"]
    out = io.StringIO()
    call_command("gstr1", "2026-11", stdout=out)
    downloaded = json.loads(b"".join(response.streaming_content), parse_float=Decimal)
    assert downloaded == json.loads(out.getvalue(), parse_float=Decimal)


@pytest.mark.parametrize("month_text", ["2026-13", "november", "2099-01"])
def test_a_malformed_or_future_month_is_not_found(db, client, accountant, month_text):
    client.force_login(accountant)
    assert client.get(f"/admin/reports/gst/{month_text}/").status_code == 404


def test_the_admin_index_links_to_last_months_return(db, client, accountant):
    from django.utils import timezone

    from reports.gstr1 import previous_month

    client.force_login(accountant)
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/reports/gst/"' in index and 'href="/admin/reports/"' not in index
    last = previous_month(timezone.localdate().replace(day=1))
    assert client.get("/admin/reports/gst/")["Location"] == f"/admin/reports/gst/{last:%Y-%m}/"
