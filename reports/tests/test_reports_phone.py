"""The reports and the GST page on a 390 px phone: nothing scrolls sideways, every
chart fits the screen, and every money cell can be read."""

import pytest

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from conftest import PHONE, browser_test

from .test_business_reports import world  # noqa: F401  (the hand-computed world)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test

LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const charts = [...document.querySelectorAll("svg.chart")].map((el) => el.getBoundingClientRect());
  const cells = [...document.querySelectorAll(".reports td.num")];
  const unreadable = cells.filter((el) => {
    const r = el.getBoundingClientRect();
    const wrap = el.closest(".table-wrap").getBoundingClientRect();
    return r.width === 0 || r.left < wrap.left - 1 || (r.right > wrap.right + 1 && el.closest(".table-wrap").scrollWidth <= wrap.width);
  });
  return {
    scrollsSideways: document.documentElement.scrollWidth > width,
    chartsTooWide: charts.filter((r) => r.left < 0 || r.right > width + 1).length,
    charts: charts.length,
    smallestChart: Math.min(...charts.map((r) => r.width)),
    unreadable: unreadable.length,
  };
}"""


def test_the_reports_and_the_gst_page_fit_a_phone(live_server, browser, world, settings):  # noqa: F811
    settings.STAFF_2FA_REQUIRED = False
    UserFactory(email="owner@example.com", is_staff=True, is_superuser=True)
    page = browser.new_page(**PHONE)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/reports/")
    layout = page.evaluate(LAYOUT)
    assert layout["charts"] == 7 and layout["chartsTooWide"] == 0 and not layout["scrollsSideways"]
    assert layout["smallestChart"] >= 300  # a chart takes the screen's width, not a thumbnail
    assert layout["unreadable"] == 0
    page.goto(f"{live_server.url}/admin/reports/gst/2026-11/")
    layout = page.evaluate(LAYOUT)
    assert not layout["scrollsSideways"] and layout["unreadable"] == 0
