"""The API docs page in a real browser on a closed network: every request that
leaves the portal is refused, and Swagger UI must still render the operations."""

from urllib.parse import urlsplit

import pytest

from conftest import browser_test

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_test


def test_the_api_docs_render_their_operations_with_no_network(live_server, page):
    portal = urlsplit(live_server.url).netloc
    left_the_portal = []

    def only_the_portal(route):
        if urlsplit(route.request.url).netloc == portal:
            route.continue_()
        else:
            left_the_portal.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_portal)
    page.goto(f"{live_server.url}/api/v1/docs/")

    operations = page.locator(".opblock")
    sync_api.expect(operations.first).to_be_visible()
    sync_api.expect(page.locator(".opblock-summary-path", has_text="/api/v1/payments/verify/")).to_be_visible()
    assert operations.count() >= 10  # every route of the v1 API, not an empty shell
    assert left_the_portal == []
