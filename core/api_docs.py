"""What /api/v1/docs/ tells an integrator: an overview (settings.SPECTACULAR_SETTINGS
["DESCRIPTION"]) and, for each operation, what it does and an example.

The texts sit in one place, keyed by operation id, and `operation_docs` (a
drf-spectacular postprocessing hook) puts them into the schema; an operation whose
view already states a description keeps its own. hostingportal/tests/test_schema.py
checks that every operation has a description and every request body an example."""

OVERVIEW = """
Buy hosting plans, pay for them through Razorpay, and manage the servers they give you.

**Authentication.** Exchange your email and password for a token with `POST /api/v1/auth/token/`
and send it as `Authorization: Token <key>` on every request. A token is shown once, is valid for
`API_TOKEN_DAYS` days (90 by default), and is revoked by `DELETE /api/v1/auth/token/`, by a
password change or reset, or on the account's tokens page. A signed-in browser session works too
(with Django's CSRF token on writes). Every user, staff included, sees only their own objects:
another customer's server, order or ticket answers 404.

**Paying.** `POST /api/v1/orders/` prices the order (integer paise; GST as CGST + SGST or IGST by
the place of supply) and opens a Razorpay order: its `razorpay` block is what Razorpay Checkout
needs (`key_id`, `order_id`, `amount`, `currency`). Open Checkout with it; hand what Checkout's
`handler` receives to `POST /api/v1/payments/verify/`. 200 means paid (with the server); 202 means
Razorpay has not confirmed the capture yet: poll `GET /api/v1/orders/<number>/`. A payment whose
browser never came back is still applied, from Razorpay's webhook or the reconciler.

**Webhooks.** Razorpay posts to `/webhooks/razorpay/` (signed with `RAZORPAY_WEBHOOK_SECRET`);
you do not call it. `payment.captured` and `order.paid` have the effect of a successful verify.

**Money.** Every amount is integer paise in a field ending `_paise` (₹2,643.20 is `264320`);
the currency is `INR`.

**Errors.** 4xx answers are JSON: `{"detail": "…"}`, or for invalid input one key per field with a
list of messages. 404 also means "not yours". 409 means the object's state does not allow it now.

**Throttles.** Anonymous clients 60 requests a minute, signed-in users 600, token requests 10
(per client address); beyond that 429 with `Retry-After` seconds. Five failed sign-ins for one
email from one address lock that pair out for 15 minutes (429 with a `detail`).

**Lists** are pages of 25: `{"count", "next", "previous", "results"}`.
"""

ORDER_EXAMPLE = {"plan": "g-8gb", "billing_cycle_months": 12, "billing_state": "Karnataka", "ssh_keys": [3]}

# operation id -> (description, example request body or None)
OPERATIONS = {
    "plans_list": ("The active hosting plans with their monthly price in paise, GST excluded. No sign-in needed.", None),
    "orders_list": ("The caller's orders, newest first, with their invoice and credit notes once paid.", None),
    "orders_retrieve": (
        "One of the caller's orders: `status` is `created` until paid, then `paid` (or `refunded`, "
        "`cancelled`); `server` is the server it bought or renews.",
        None,
    ),
    "orders_create": (
        "Price an order for a plan and a billing cycle (1, 3, 6 or 12 months; longer cycles may carry the "
        "plan's discount) and open its Razorpay order. The buyer's name, address, state and GSTIN are taken "
        "from the body or, for each left out, from the caller's saved billing details; the state (or a "
        "GSTIN's state) decides CGST + SGST or IGST, and an order that names no place of supply is refused. "
        "`ssh_keys` are ids of the caller's own keys to install on the new server.",
        ORDER_EXAMPLE,
    ),
    "servers_list": ("The caller's servers with their status, due date (`paid_until`) and unpaid renewal.", None),
    "servers_retrieve": (
        "One of the caller's servers: `status` (`pending`, `provisioning`, `active`, `failed`, `suspended`, "
        "`terminated`), `power_state`, `paid_until` and `renewal` (its unpaid renewal order, if any).",
        None,
    ),
    "ssh_keys_list": ("The caller's SSH public keys, with their SHA256 fingerprints.", None),
    "ssh_keys_create": (
        "Add an OpenSSH public key (ed25519, ecdsa, or rsa of 2048 bits or more) to choose at checkout. "
        "The answer says why a key is refused.",
        {"name": "laptop", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr1cXbV0G1rL2rjJ0m5t8b3vYqJm2V2i1QY1d9qX0aB alice@laptop"},
    ),
    "ssh_keys_destroy": ("Delete one of the caller's keys. Servers it was installed on keep it.", None),
    "tickets_list": ("The caller's support tickets, newest activity first.", None),
    "tickets_create": (
        "Open a support ticket, optionally about one of the caller's servers. Staff are notified.",
        {"subject": "Cannot reach port 443", "body": "Since this morning HTTPS times out on my server.", "server": 12},
    ),
    "tickets_retrieve": ("One ticket with its messages (internal staff notes excluded) and attachment links.", None),
    "tickets_messages_create": (
        "Reply to a ticket: multipart form data with `body` and any number of `attachments` files "
        "(images, PDFs and text; size limits apply). A closed ticket reopens.",
        None,
    ),
    # Their views say what they do; only an example is added.
    "auth_token_create": ("", {"email": "alice@example.com", "password": "correct horse battery staple"}),
    "payments_verify_create": (
        "",
        {
            "razorpay_order_id": "order_Rb3v9kXbUq1n2Z",
            "razorpay_payment_id": "pay_Rb3vC0mJ8s7yTq",
            "razorpay_signature": "9ef4dffbfd84f1318f6739a3ce19f9d85851857ae648f114332d8401e0949a3d",
        },
    ),
    "servers_actions_create": ("", {"action": "reboot"}),
    "servers_renew_create": ("", {"billing_cycle_months": 3}),
    "affiliate_retrieve": (
        "The caller's referral code and link, how many customers they brought, and their commissions by "
        "status in paise.",
        None,
    ),
}

# Request bodies that are not JSON take their example from here by media type.
MULTIPART_EXAMPLES = {"tickets_messages_create": {"body": "Here is the error log.", "attachments": ["error.log"]}}


def operation_docs(result, generator, request, public):
    """drf-spectacular postprocessing hook: the texts above into the schema."""
    result.setdefault("info", {})["description"] = OVERVIEW.strip()
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            description, example = OPERATIONS.get(operation.get("operationId"), ("", None))
            if description and not operation.get("description"):
                operation["description"] = description
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, body in content.items():
                sample = example
                if sample is None and media_type == "multipart/form-data":
                    sample = MULTIPART_EXAMPLES.get(operation.get("operationId"))
                if sample is not None and "example" not in body and "examples" not in body:
                    body["example"] = sample
    return result
