"""Sessions, sign-in lockouts, API throttles and the staff second factor across two web nodes.

Behind a load balancer one browser's requests land on any node, so everything a request
remembers must live where every node reads it: sessions and TOTP devices (last used step,
wrong-code throttle) in PostgreSQL, lockout and throttle counters in the shared cache
(Redis). `cross_node_checks(node_a, node_b, accounts=…)` drives two nodes with real HTTP,
alternating between them, and returns what it saw; each check says `ok`.

The requests play the load balancer's part: every one carries `X-Forwarded-Proto: https`
and `X-Forwarded-For: <a client address of this run>`, so the nodes must run with
`TRUSTED_PROXY_COUNT=1` (as behind one HAProxy) and be reached directly. Each check uses
its own made-up client address (IPv6 documentation prefix, random per run), so runs and
other traffic never share a lockout or throttle bucket.

From a shell, against running nodes whose database DATABASE_URL names (the accounts are
made there through the ORM):

    DATABASE_URL=postgres://… CACHE_URL=redis://… python -m bench.cross_node \\
        http://10.0.0.2:8000 http://10.0.0.3:8000 --anon-budget 60

prints the results as JSON and exits 0 when every check is ok, 1 otherwise.
"""

import argparse
import base64
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import requests

TOTP_STEP_SECONDS = 30
# The nodes' password hashes are made cheap here (few PBKDF2 rounds): the checks count
# sign-ins, they do not time hashing. A node upgrades a hash at its first sign-in.
CHEAP_PBKDF2_ITERATIONS = 1000


@dataclass(frozen=True)
class CrossNodeAccounts:
    customer_email: str  # signs in for the session check
    target_email: str  # is locked out by the lockout check
    burst_email: str  # is guessed at concurrently; its password hash costs what production's does
    password: str  # of all four
    staff_email: str  # is_staff and superuser, with one confirmed TOTP device
    totp_secret: str  # that device's key in base32, as `staff_totp` prints it


def cross_node_accounts(run_id=None) -> CrossNodeAccounts:
    """Two customers and a staff user with a TOTP device, new for this run (a used TOTP
    step and a lockout stay behind in the database and the cache). Needs Django set up
    on the nodes' database; the rows are committed."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from security.second_factor import totp_secret

    run_id = run_id or secrets.token_hex(4)
    password = f"cross-node-{secrets.token_hex(8)}"
    hashed = PBKDF2PasswordHasher().encode(password, secrets.token_hex(8), iterations=CHEAP_PBKDF2_ITERATIONS)
    User = get_user_model()

    def user(role, **flags):
        return User.objects.create(email=f"cross-node-{run_id}-{role}@example.com", password=hashed, **flags)

    customer, target = user("customer"), user("target")
    # Guesses in flight together must take as long as real ones: that is the window they race in.
    burst = user("burst")
    burst.password = PBKDF2PasswordHasher().encode(password, secrets.token_hex(8))
    burst.save(update_fields=["password"])
    staff = user("staff", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="cross-node phone", confirmed=True)
    return CrossNodeAccounts(customer.email, target.email, burst.email, password, staff.email, totp_secret(device))


def client_address():
    """A client address of our own (2001:db8::/32 is for documentation): no bucket shared with anyone."""
    return "2001:db8:" + ":".join(secrets.token_hex(2) for _ in range(6))


class Browser:
    """One browser behind the load balancer: its cookies go to whichever node answers,
    as every node is the same site to it. (requests keeps cookies per host and port and
    holds back Secure cookies over http, so they are kept here.)"""

    def __init__(self, host=None, address=None, timeout=15):
        self.cookies = {}
        self.host = host
        self.address = address or client_address()
        self.timeout = timeout
        self.http = requests.Session()

    def request(self, method, url, data=None, json=None):
        host = self.host or urlsplit(url).netloc
        sent = {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https", "Host": host}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if method == "POST" and json is None:
            sent["Origin"] = f"https://{host}"  # Django's CSRF check of a secure request
            data = {**(data or {}), "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        response = self.http.request(
            method, url, data=data, json=json, headers=sent, allow_redirects=False, timeout=self.timeout
        )
        self.http.cookies.clear()
        self.remember(response)
        return response

    def remember(self, response):
        for header in response.raw.headers.getlist("Set-Cookie"):
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)  # Django deletes a cookie this way
                else:
                    self.cookies[name] = morsel.value

    def get(self, url):
        return self.request("GET", url)

    def post(self, url, data=None, json=None):
        return self.request("POST", url, data=data, json=json)

    def sign_in(self, node, email, password, path="/accounts/login/", next_url=None):
        """The sign-in form's page first (its CSRF cookie), then the form sent to `node`."""
        self.get(f"{node}{path}")
        form = {"username": email, "password": password}
        if next_url:
            form["next"] = next_url
        return self.post(f"{node}{path}", form)


def statuses(responses):
    return [response.status_code for response in responses]


def sessions_check(node_a, node_b, accounts, host=None):
    """Sign in on A; the session works on B; signing out on B ends it on A."""
    browser = Browser(host)
    signed_in = browser.sign_in(node_a, accounts.customer_email, accounts.password)
    on_b = browser.get(f"{node_b}/servers/")
    on_a = browser.get(f"{node_a}/servers/")
    signed_out = browser.post(f"{node_b}/accounts/logout/")
    after_on_a = browser.get(f"{node_a}/servers/")
    return {
        "ok": signed_in.status_code == 302
        and on_b.status_code == 200
        and on_a.status_code == 200
        and signed_out.status_code == 302
        and after_on_a.status_code == 302
        and after_on_a.headers.get("Location", "").startswith("/accounts/login/"),
        "sign_in_on_a": signed_in.status_code,
        "servers_page_on_b": on_b.status_code,
        "servers_page_on_a": on_a.status_code,
        "sign_out_on_b": signed_out.status_code,
        "servers_page_on_a_after_sign_out": after_on_a.status_code,
        "redirected_to": after_on_a.headers.get("Location"),
    }


def lockout_check(node_a, node_b, accounts, host=None, failure_limit=5):
    """Wrong passwords alternating A and B lock the pair (email, address) out at the fifth
    failure in all; then the right password is refused on both nodes and by the API, and
    the same email from another address still signs in."""
    guesser = Browser(host)
    nodes = [node_a, node_b] * failure_limit
    failures = [guesser.sign_in(node, accounts.target_email, "not-the-password") for node in nodes[:failure_limit]]
    right_on_b = guesser.sign_in(node_b, accounts.target_email, accounts.password)
    right_on_a_admin = guesser.sign_in(node_a, accounts.target_email, accounts.password, path="/admin/login/")
    api_on_b = guesser.post(
        f"{node_b}/api/v1/auth/token/", json={"email": accounts.target_email, "password": accounts.password}
    )
    neighbour = Browser(host).sign_in(node_b, accounts.target_email, accounts.password)
    expected = [200] * (failure_limit - 1) + [429]
    return {
        "ok": statuses(failures) == expected
        and right_on_b.status_code == 429
        and right_on_a_admin.status_code == 429
        and api_on_b.status_code == 429
        and neighbour.status_code == 302,
        "failures_alternating_a_b": statuses(failures),
        "expected": expected,
        "right_password_on_b": right_on_b.status_code,
        "right_password_on_a_admin_login": right_on_a_admin.status_code,
        "api_token_on_b": api_on_b.status_code,
        "same_email_other_address_on_b": neighbour.status_code,
    }


def lockout_burst_check(node_a, node_b, accounts, host=None, per_node=3):
    """Wrong passwords sent together (`per_node` to each node, fewer than a node's threads),
    then, while they are being checked, the right one: it is the sixth guess or later, so
    it must be refused, however many of the wrong ones have finished."""
    address = client_address()
    form_page = Browser(host, address)
    form_page.get(f"{node_a}/accounts/login/")  # its CSRF cookie: each guess is then one request

    def guess(node, password):
        browser = Browser(host, address)
        browser.cookies = dict(form_page.cookies)
        return browser.post(f"{node}/accounts/login/", {"username": accounts.burst_email, "password": password})

    nodes = [node_a, node_b] * per_node
    with ThreadPoolExecutor(len(nodes)) as pool:
        wrong = [pool.submit(guess, node, "not-the-password") for node in nodes]
        time.sleep(0.5)  # every wrong guess is at the password check by now (each takes longer)
        finished_first = sum(future.done() for future in wrong)
        right = guess(node_a, accounts.password).status_code
        wrong_statuses = [future.result().status_code for future in wrong]
    return {
        "ok": right == 429 and wrong_statuses.count(200) <= 4,
        "wrong_together_statuses": sorted(wrong_statuses),
        "right_password_while_they_are_checked": right,
        "wrong_finished_before_it_was_sent": finished_first,  # 0 unless hashing is fast here
    }


def throttle_check(node_a, node_b, anon_budget, host=None, concurrency=8):
    """The anonymous API budget (API_THROTTLE_ANON, per minute) is one budget over both
    nodes: spent alternating A and B, the next request is refused on either. And from
    another address, four budgets' worth sent `concurrency` at a time over both nodes
    get exactly one budget through."""
    client = Browser(host)
    spent = [client.get(f"{node}/api/v1/plans/") for node in [node_a, node_b] * anon_budget][:anon_budget]
    over_on_a = client.get(f"{node_a}/api/v1/plans/")
    over_on_b = client.get(f"{node_b}/api/v1/plans/")
    burst_address = client_address()
    urls = [f"{node}/api/v1/plans/" for node in [node_a, node_b] * (2 * anon_budget)]
    with ThreadPoolExecutor(concurrency) as pool:
        burst_statuses = list(pool.map(lambda url: Browser(host, burst_address).get(url).status_code, urls))
    return {
        "ok": statuses(spent) == [200] * anon_budget
        and over_on_a.status_code == 429
        and over_on_b.status_code == 429
        and burst_statuses.count(200) == anon_budget,
        "budget": anon_budget,
        "spent_alternating_a_b": statuses(spent),
        "next_on_a": over_on_a.status_code,
        "next_on_b": over_on_b.status_code,
        "retry_after": over_on_b.headers.get("Retry-After"),
        "concurrent_sent": len(burst_statuses),
        "concurrent_allowed": burst_statuses.count(200),
    }


def totp_code(secret, step):
    from django_otp.oath import hotp

    return f"{hotp(base64.b32decode(secret), step):06d}"


def second_factor_check(node_a, node_b, accounts, host=None):
    """A staff session with its password passed and its code pending continues on B; wrong
    codes sent to A and B are throttled as one count; a code accepted on A is refused on B
    (its step is spent), while the next step's code is accepted there."""
    step = int(time.time()) // TOTP_STEP_SECONDS
    code, next_code = totp_code(accounts.totp_secret, step), totp_code(accounts.totp_secret, step + 1)
    valid = {totp_code(accounts.totp_secret, step + offset) for offset in range(-2, 4)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)
    verify = "/accounts/2fa/?next=/admin/"

    staff = Browser(host)
    password_passed = staff.sign_in(node_a, accounts.staff_email, accounts.password, next_url="/admin/")
    pending_on_b = staff.get(f"{node_b}/admin/")
    # django-otp refuses every code for 2^(n-1) s after n wrong ones (the count is on the device's row).
    wrong_on_b = staff.post(f"{node_b}{verify}", {"otp_code": wrong})
    time.sleep(1.2)
    wrong_on_a = staff.post(f"{node_a}{verify}", {"otp_code": wrong})
    right_while_throttled_on_b = staff.post(f"{node_b}{verify}", {"otp_code": code})
    time.sleep(2.2)
    right_on_a = staff.post(f"{node_a}{verify}", {"otp_code": code})
    admin_on_b = staff.get(f"{node_b}/admin/")

    second = Browser(host)
    second.sign_in(node_a, accounts.staff_email, accounts.password, next_url="/admin/")
    replayed_on_b = second.post(f"{node_b}{verify}", {"otp_code": code})
    time.sleep(1.2)  # the refused replay counts as a wrong code
    next_on_b = second.post(f"{node_b}{verify}", {"otp_code": next_code})
    return {
        "ok": password_passed.status_code == 302
        and pending_on_b.status_code == 302
        and pending_on_b.headers.get("Location", "").startswith("/accounts/2fa/")
        and [wrong_on_b.status_code, wrong_on_a.status_code] == [400, 400]
        and right_while_throttled_on_b.status_code == 400
        and right_on_a.status_code == 302
        and admin_on_b.status_code == 200
        and replayed_on_b.status_code == 400
        and next_on_b.status_code == 302,
        "password_on_a": password_passed.status_code,
        "admin_on_b_before_code": pending_on_b.status_code,
        "admin_on_b_before_code_to": pending_on_b.headers.get("Location"),
        "wrong_codes_on_b_then_a": [wrong_on_b.status_code, wrong_on_a.status_code],
        "right_code_on_b_while_throttled": right_while_throttled_on_b.status_code,
        "right_code_on_a_after_wait": right_on_a.status_code,
        "admin_on_b_after_code": admin_on_b.status_code,
        "same_code_replayed_on_b": replayed_on_b.status_code,
        "next_step_code_on_b": next_on_b.status_code,
    }


def cross_node_checks(node_a_url, node_b_url, *, accounts, anon_budget=60, host=None):
    """Every check against the two nodes' base URLs (http://host:port, no trailing slash);
    {"ok": all ok, "sessions": …, "lockout": …, "lockout_burst": …, "throttle": …, "second_factor": …}.
    `anon_budget` is the nodes' API_THROTTLE_ANON count per minute; `host` the Host header
    to send (in their ALLOWED_HOSTS; default each URL's own)."""
    node_a, node_b = node_a_url.rstrip("/"), node_b_url.rstrip("/")
    results = {
        "sessions": sessions_check(node_a, node_b, accounts, host),
        "lockout": lockout_check(node_a, node_b, accounts, host),
        "lockout_burst": lockout_burst_check(node_a, node_b, accounts, host),
        "throttle": throttle_check(node_a, node_b, anon_budget, host),
        "second_factor": second_factor_check(node_a, node_b, accounts, host),
    }
    return {"ok": all(result["ok"] for result in results.values()), **results}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("node_a")
    parser.add_argument("node_b")
    parser.add_argument("--anon-budget", type=int, default=60, help="the nodes' API_THROTTLE_ANON per minute")
    parser.add_argument("--host", help="Host header to send (default: each node URL's own)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")
    django.setup()
    results = cross_node_checks(
        args.node_a, args.node_b, accounts=cross_node_accounts(), anon_budget=args.anon_budget, host=args.host
    )
    print(json.dumps(results, indent=2))
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
