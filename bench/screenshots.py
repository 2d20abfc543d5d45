"""Regenerate the README screenshots of the customer portal.

    .venv/bin/python bench/screenshots.py

Builds a throwaway SQLite database with the demo data, serves it with
`runserver` (simulated payments; provisioning runs inline), buys a plan in
Chromium through the simulated checkout, and saves PNGs to docs/screenshots/.
Needs Playwright for Python and a Chromium binary (Debian: `apt-get install
chromium`; or set CHROMIUM_PATH). Touches nothing outside the temp dir and
docs/screenshots/.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
EMAIL, PASSWORD = "demo@example.com", "demo-pass-123"  # seed_demo's customer
STAFF_EMAIL, STAFF_PASSWORD = "admin@example.com", "admin-pass-123"  # seed_demo's superuser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_BYTES = 400_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, server, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"runserver exited with code {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"runserver did not answer at {url} within {timeout}s")


def shoot(page, name, full_page=False):
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    size = path.stat().st_size
    print(f"  {path.relative_to(ROOT)} ({size // 1024} KB)")
    if size > MAX_BYTES:
        raise SystemExit(f"{path.name} is {size} bytes; keep screenshots under {MAX_BYTES}")


def take_screenshots(base, chromium):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)

            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            # seed_demo's customer: a server with its renewal due, a ticket answered, an invoice.
            expect(page).to_have_url(f"{base}/home/")
            shoot(page, "home")

            page.goto(f"{base}/plans/")
            shoot(page, "plans")

            page.goto(f"{base}/checkout/g-8gb/")
            page.get_by_label("12 months").check()
            # The breakdown is re-rendered by the server; wait for the discount row.
            expect(page.locator("#breakdown")).to_contain_text("Discount")
            page.get_by_label("Name on the invoice").fill("Demo Traders")
            page.get_by_label("State (place of supply)").select_option("Karnataka")
            expect(page.locator("#breakdown")).to_contain_text("CGST")  # the split for the chosen state
            page.evaluate("document.activeElement.blur()")  # no focus ring in the picture
            shoot(page, "checkout")

            page.get_by_role("button", name=re.compile(r"^Pay ")).click()
            dialog = page.get_by_role("dialog", name="Simulated checkout")
            expect(dialog).to_be_visible()
            order_number = page.url.rstrip("/").split("/")[-1]
            dialog.get_by_role("button", name="Succeed").click()
            expect(page).to_have_url(re.compile(r"/servers/\d+/$"))
            expect(page.locator("#server-status .badge").first).to_have_text("Active", timeout=30_000)
            shoot(page, "server-detail")

            page.goto(f"{base}/servers/")
            shoot(page, "servers")

            page.goto(f"{base}/orders/{order_number}/invoice/")
            shoot(page, "invoice", full_page=True)  # one page long; the totals are at the bottom

            # Same signed-in session, so the phone shot shows the customer's navigation.
            phone = browser.new_context(
                viewport=PHONE,
                device_scale_factor=1,
                is_mobile=True,
                has_touch=True,
                storage_state=context.storage_state(),
            )
            phone_page = phone.new_page()
            phone_page.goto(f"{base}/plans/")
            shoot(phone_page, "plans-phone")
            phone_page.goto(f"{base}/home/")
            shoot(phone_page, "home-phone", full_page=True)
            phone_page.goto(f"{base}/orders/{order_number}/invoice/")
            shoot(phone_page, "invoice-phone", full_page=True)

            # The back office: the order bought above, as staff see it.
            staff = browser.new_context(viewport=DESKTOP, device_scale_factor=1).new_page()
            staff.goto(f"{base}/admin/login/")
            staff.get_by_label("Email").fill(STAFF_EMAIL)
            staff.get_by_label("Password").fill(STAFF_PASSWORD)
            staff.get_by_role("button", name="Log in").click()
            staff.goto(f"{base}/admin/billing/order/?q={order_number}")
            staff.get_by_role("link", name=order_number).click()
            expect(staff).to_have_url(re.compile(r"/admin/billing/order/\d+/change/"))
            expect(staff.locator("#content")).to_contain_text("Server, invoice, credit notes, tickets")
            shoot(staff, "admin-order")
            staff.locator("#content").get_by_role("link", name=EMAIL).first.click()
            expect(staff).to_have_url(re.compile(r"/admin/customers/\d+/$"))
            shoot(staff, "admin-customer")
        finally:
            browser.close()


def main():
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("No Chromium binary found (apt-get install chromium, or set CHROMIUM_PATH).")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="portal-screenshots-") as tmp:
        env = {
            **os.environ,
            "DEBUG": "True",
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "MEDIA_ROOT": f"{tmp}/media",
            "CELERY_BROKER_URL": "memory://",
            "CELERY_TASK_ALWAYS_EAGER": "True",
            "SIMULATED_PROVISIONING_DELAY_SECONDS": "0",
            "RAZORPAY_KEY_ID": "",  # simulated payments, whatever the shell has
            "RAZORPAY_KEY_SECRET": "",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
            subprocess.run(manage + command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "runserver.log", "w")
        server = subprocess.Popen(
            manage + ["runserver", f"127.0.0.1:{port}", "--noreload"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        try:
            wait_until_up(f"{base}/plans/", server)
            print(f"Serving {base}; writing {OUT.relative_to(ROOT)}/")
            take_screenshots(base, chromium)
        except BaseException:
            log.flush()
            print((Path(tmp) / "runserver.log").read_text()[-4000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


if __name__ == "__main__":
    main()
