"""A local stand-in for Razorpay's API, spoken to by the real SDK over HTTP.

Implements the few endpoints the portal uses, with Razorpay's JSON shapes and
error format, basic auth, and knobs for the failures we must survive:
`delay_seconds` (slow Razorpay), `fail_next` (5xx answers) and
`echo_amount_delta` (an order echoed with a different amount).

Recurring payments (autopay) as Razorpay's API has them: customers (`fail_existing`
"0" answers the existing one), orders carrying `customer_id` and `token{max_amount,
expire_at, frequency}`, a token registered by paying such an order (its
`recurring_details.status` moved by `token_update`, whose webhook `token.*` carries
the token entity), `payment/create/recurring` (answers ids and a signature, not the
payment; the payment waits as `created` until `recurring_settle`), token fetch and
cancel. `recurring_outcome` settles new debits at once ("captured", "failed");
`hold_recurring_answer` (a threading.Event) keeps a debit's answer back, after the
payment exists, until it is set: a runner killed while waiting lost the answer.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import socket
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALNUM = string.ascii_letters + string.digits
# How often a test server's loop looks for shutdown(): stopping waits for the next look.
SERVE_POLL_SECONDS = 0.02


def razorpay_id(prefix):
    return f"{prefix}_" + "".join(secrets.choice(ALNUM) for _ in range(14))


class FakeServer(ThreadingHTTPServer):
    # Two web nodes' threads and the workers connect at once: the default backlog of 5
    # drops SYNs under a burst, and each drop costs the client a one-second retransmit.
    request_queue_size = 128


def sign(message: str, secret: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class FakeRazorpay:
    def __init__(self, key_id="rzp_test_fake", key_secret="fake-key-secret", webhook_secret="fake-webhook-secret"):
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.orders, self.payments, self.refunds = {}, {}, {}
        self.customers, self.tokens = {}, {}
        self.recurring_outcome = None  # None: a debit stays "created" until recurring_settle
        self.hold_recurring_answer = None
        self.fail_next_recurring = 0  # debits answered 500 before anything is made
        self.recurring_asked = threading.Event()  # set when a debit has been asked (for crash tests)
        self.requests = []  # (method, path) of every call, for assertions
        self.delay_seconds = 0.0
        self.fail_next = 0
        self.echo_amount_delta = 0
        self.refund_status = "processed"  # what a new refund answers: "pending" as Razorpay often does
        # Optional iterator of payment entities that payment fetches answer first,
        # to stage a state change between two calls (a capture elsewhere).
        self.next_fetch_answers = None
        self.lock = threading.Lock()
        self.connections = set()  # open keep-alive connections, closed by stop()
        self.server = None

    # --- lifecycle -------------------------------------------------------------
    def start(self, host="127.0.0.1"):
        """Serve on `host` (a bridge address when the portal runs in network namespaces)."""
        fake = self

        class Handler(RazorpayHandler):
            pass

        Handler.fake = fake
        self.server = FakeServer((host, 0), Handler)
        self.server.daemon_threads = True
        # Its stop() waits for the loop's next poll: at the default 0.5 s, a third of a second per test.
        threading.Thread(target=self.server.serve_forever, args=(SERVE_POLL_SECONDS,), daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.drop_connections()  # kept-alive connections would otherwise go on being answered

    def drop_connections(self):
        """Close every kept-alive connection, as Razorpay does with idle ones."""
        with self.lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):  # the client may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)

    @property
    def base_url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what a customer does at Razorpay's end --------------------------------
    def pay(self, order_id, *, status="captured", amount=None, currency=None, method="card"):
        """A payment on an order, as if the customer completed Checkout."""
        order = self.orders[order_id]
        payment = {
            "id": razorpay_id("pay"),
            "entity": "payment",
            "order_id": order_id,
            "amount": order["amount"] if amount is None else amount,
            "currency": currency or order["currency"],
            "status": status,
            "method": method,
            "captured": status == "captured",
            "error_code": None,
            "error_description": None,
            "created_at": int(time.time()),
        }
        if status == "failed":
            payment.update(error_code="BAD_REQUEST_ERROR", error_description="Payment declined by the bank")
        if order.get("token") and status != "failed":
            # Paying an order that carries token terms registers the mandate.
            token = self.token_register(order, method)
            payment.update(token_id=token["id"], customer_id=order["customer_id"], recurring=True)
        with self.lock:
            self.payments[payment["id"]] = payment
            if status == "captured":
                order.update(status="paid", amount_paid=payment["amount"])
        return dict(payment)

    def token_register(self, order, method):
        terms = order["token"]
        token = {
            "id": razorpay_id("token"),
            "entity": "token",
            "customer_id": order["customer_id"],
            "method": method,
            "recurring": True,
            "recurring_details": {"status": "initiated", "failure_reason": None},
            "max_amount": terms["max_amount"],
            "expired_at": terms["expire_at"],
            "frequency": terms["frequency"],
            "created_at": int(time.time()),
        }
        with self.lock:
            self.tokens[token["id"]] = token
        return token

    def token_update(self, token_id, status, failure_reason=None):
        """Razorpay moving a token (bank confirmation, rejection, cancellation); returns the entity."""
        with self.lock:
            token = self.tokens[token_id]
            token["recurring_details"] = {"status": status, "failure_reason": failure_reason}
            return dict(token)

    def recurring_settle(self, payment_id, status="captured", *, error_code=None, error_description=None):
        """The bank's answer to a debit, 24-36 hours on; returns the payment entity its webhook carries."""
        with self.lock:
            payment = self.payments[payment_id]
            payment.update(status=status, captured=status == "captured")
            if status == "failed":
                payment.update(
                    error_code=error_code or "BAD_REQUEST_ERROR",
                    error_description=error_description or "Payment declined by the bank",
                )
            else:
                self.orders[payment["order_id"]].update(status="paid", amount_paid=payment["amount"])
            return dict(payment)

    def recurring_requests(self):
        return [request for request in self.requests if request[1] == "/v1/payments/create/recurring"]

    def refund_settle(self, refund_id, status="processed"):
        """Razorpay finishing a pending refund; returns the entity its webhook carries."""
        with self.lock:
            self.refunds[refund_id]["status"] = status
            return dict(self.refunds[refund_id])

    def checkout_response(self, payment):
        """What Checkout hands the page's handler: ids and the signature."""
        return {
            "razorpay_order_id": payment["order_id"],
            "razorpay_payment_id": payment["id"],
            "razorpay_signature": sign(f"{payment['order_id']}|{payment['id']}", self.key_secret),
        }

    def webhook(self, event_type, payment=None, *, refund=None, token=None, event_id=None):
        """A signed delivery: (body bytes, headers) exactly as Razorpay would send it."""
        payload = {}
        if token is not None:
            payload["token"] = {"entity": token}
        if payment is not None:
            payload["payment"] = {"entity": payment}
            if event_type == "order.paid":
                payload["order"] = {"entity": self.orders.get(payment["order_id"], {})}
        if refund is not None:
            payload["refund"] = {"entity": refund}
        body = json.dumps(
            {
                "entity": "event",
                "account_id": "acc_fake",
                "event": event_type,
                "contains": list(payload),
                "payload": payload,
                "created_at": int(time.time()),
            }
        ).encode()
        headers = {
            "HTTP_X_RAZORPAY_SIGNATURE": sign(body.decode(), self.webhook_secret),
            "HTTP_X_RAZORPAY_EVENT_ID": event_id or razorpay_id("evt"),
        }
        return body, headers


class RazorpayHandler(BaseHTTPRequestHandler):
    fake: FakeRazorpay
    protocol_version = "HTTP/1.1"  # keep-alive, as Razorpay's API does; every reply sends Content-Length
    disable_nagle_algorithm = True  # headers and body are two writes; Nagle would hold the second for 40 ms

    def setup(self):
        super().setup()
        with self.fake.lock:
            self.fake.connections.add(self.connection)

    def finish(self):
        with self.fake.lock:
            self.fake.connections.discard(self.connection)
        super().finish()

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, description):
        self.reply(status, {"error": {"code": code, "description": description}})

    def route(self, method):
        fake = self.fake
        fake.requests.append((method, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if fake.delay_seconds:
            time.sleep(fake.delay_seconds)
        if fake.fail_next > 0:
            fake.fail_next -= 1
            return self.error(500, "SERVER_ERROR", "The server encountered an error.")
        expected = "Basic " + base64.b64encode(f"{fake.key_id}:{fake.key_secret}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.error(401, "BAD_REQUEST_ERROR", "Authentication failed")
        path = self.path.split("?")[0]
        for pattern, handler_method, name in ROUTES:
            if method == handler_method and (match := re.fullmatch(pattern, path)):
                return getattr(self, name)(body, *match.groups())
        return self.error(400, "BAD_REQUEST_ERROR", "The requested URL was not found on the server.")

    def order_create(self, body):
        if not isinstance(body.get("amount"), int) or body["amount"] < 100:
            return self.error(400, "BAD_REQUEST_ERROR", "Order amount less than minimum amount allowed")
        if ("token" in body or "customer_id" in body) and body.get("customer_id") not in self.fake.customers:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        terms = body.get("token")
        if terms is not None and not (
            isinstance(terms.get("max_amount"), int)
            and isinstance(terms.get("expire_at"), int)
            and terms.get("frequency") in ("as_presented", "monthly", "yearly", "weekly", "daily")
        ):
            return self.error(400, "BAD_REQUEST_ERROR", "The token max_amount, expire_at or frequency is invalid")
        order = {
            "id": razorpay_id("order"),
            "entity": "order",
            "amount": body["amount"] + self.fake.echo_amount_delta,
            "amount_paid": 0,
            "currency": body.get("currency", "INR"),
            "receipt": body.get("receipt"),
            "status": "created",
            "notes": body.get("notes") or {},
            "created_at": int(time.time()),
        }
        if body.get("customer_id"):
            order["customer_id"] = body["customer_id"]
        if terms is not None:
            order["token"] = terms
        self.fake.orders[order["id"]] = order
        self.reply(200, order)

    def customer_create(self, body):
        if not body.get("contact") or not body.get("email"):
            return self.error(400, "BAD_REQUEST_ERROR", "The contact field is required.")
        fake = self.fake
        with fake.lock:
            for customer in fake.customers.values():
                if (customer["email"], customer["contact"]) == (body["email"], body["contact"]):
                    if str(body.get("fail_existing", "1")) == "0":
                        return self.reply(200, customer)
                    return self.error(400, "BAD_REQUEST_ERROR", "Customer already exists for the merchant")
            customer = {
                "id": razorpay_id("cust"),
                "entity": "customer",
                "name": body.get("name", ""),
                "email": body["email"],
                "contact": body["contact"],
                "created_at": int(time.time()),
            }
            fake.customers[customer["id"]] = customer
        self.reply(200, customer)

    def customer_token(self, customer_id, token_id):
        token = self.fake.tokens.get(token_id)
        if token is None or token["customer_id"] != customer_id:
            return None
        return token

    def token_fetch(self, body, customer_id, token_id):
        token = self.customer_token(customer_id, token_id)
        if token is None:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        self.reply(200, token)

    def token_cancel(self, body, customer_id, token_id):
        token = self.customer_token(customer_id, token_id)
        if token is None:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        token["recurring_details"] = {"status": "cancelled", "failure_reason": None}
        self.reply(200, token)

    def payment_create_recurring(self, body):
        fake = self.fake
        if fake.fail_next_recurring > 0:
            fake.fail_next_recurring -= 1
            return self.error(500, "SERVER_ERROR", "The server encountered an error.")
        required = ("email", "contact", "amount", "currency", "order_id", "customer_id", "token", "recurring")
        if missing := [name for name in required if name not in body]:
            return self.error(400, "BAD_REQUEST_ERROR", f"The {missing[0]} field is required.")
        token = self.customer_token(body["customer_id"], body["token"])
        order = fake.orders.get(body["order_id"])
        if token is None or order is None:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        if token["recurring_details"]["status"] != "confirmed":
            return self.error(400, "BAD_REQUEST_ERROR", "The token is not confirmed for recurring payments")
        if body["amount"] != order["amount"] or body["amount"] > token["max_amount"]:
            return self.error(400, "BAD_REQUEST_ERROR", "The amount exceeds the maximum amount of the mandate")
        if order["status"] == "paid":
            return self.error(400, "BAD_REQUEST_ERROR", "Order has already been paid")
        payment = {
            "id": razorpay_id("pay"),
            "entity": "payment",
            "order_id": order["id"],
            "amount": body["amount"],
            "currency": body["currency"],
            "status": "created",
            "method": token["method"],
            "captured": False,
            "token_id": token["id"],
            "customer_id": body["customer_id"],
            "recurring": True,
            "description": body.get("description"),
            "notes": body.get("notes") or {},
            "error_code": None,
            "error_description": None,
            "created_at": int(time.time()),
        }
        with fake.lock:
            fake.payments[payment["id"]] = payment
        if fake.recurring_outcome:
            fake.recurring_settle(payment["id"], fake.recurring_outcome)
        fake.recurring_asked.set()
        if fake.hold_recurring_answer is not None:
            fake.hold_recurring_answer.wait(30)
        self.reply(
            200,
            {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": order["id"],
                "razorpay_signature": sign(f"{order['id']}|{payment['id']}", fake.key_secret),
            },
        )

    def order_fetch(self, body, order_id):
        if order_id not in self.fake.orders:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        self.reply(200, self.fake.orders[order_id])

    def order_payments(self, body, order_id):
        items = [p for p in self.fake.payments.values() if p["order_id"] == order_id]
        self.reply(200, {"entity": "collection", "count": len(items), "items": items})

    def payment_fetch(self, body, payment_id):
        staged = next(self.fake.next_fetch_answers, None) if self.fake.next_fetch_answers else None
        if staged is not None:
            return self.reply(200, staged)
        if payment_id not in self.fake.payments:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        self.reply(200, self.fake.payments[payment_id])

    def payment_capture(self, body, payment_id):
        payment = self.fake.payments.get(payment_id)
        if payment is None:
            return self.error(400, "BAD_REQUEST_ERROR", "The id provided does not exist")
        if payment["status"] != "authorized":
            return self.error(400, "BAD_REQUEST_ERROR", "This payment has already been captured")
        if body.get("amount") != payment["amount"]:
            return self.error(400, "BAD_REQUEST_ERROR", "Capture amount must be equal to the amount authorized")
        payment.update(status="captured", captured=True)
        self.fake.orders[payment["order_id"]].update(status="paid", amount_paid=payment["amount"])
        self.reply(200, payment)

    def payment_refund(self, body, payment_id):
        payment = self.fake.payments.get(payment_id)
        if payment is None or payment["status"] != "captured":
            return self.error(400, "BAD_REQUEST_ERROR", "The payment has not been captured")
        refund = {
            "id": razorpay_id("rfnd"),
            "entity": "refund",
            "payment_id": payment_id,
            "amount": body.get("amount", payment["amount"]),
            "currency": payment["currency"],
            "status": self.fake.refund_status,
            "created_at": int(time.time()),
        }
        if body.get("amount", payment["amount"]) > payment["amount"] - payment.get("amount_refunded", 0):
            return self.error(400, "BAD_REQUEST_ERROR", "The refund amount provided is greater than amount captured")
        payment["amount_refunded"] = payment.get("amount_refunded", 0) + refund["amount"]
        self.fake.refunds[refund["id"]] = refund
        self.reply(200, refund)


ROUTES = [
    (r"/v1/orders", "POST", "order_create"),
    (r"/v1/customers", "POST", "customer_create"),
    (r"/v1/customers/([\w]+)/tokens/([\w]+)", "GET", "token_fetch"),
    (r"/v1/customers/([\w]+)/tokens/([\w]+)/cancel", "PUT", "token_cancel"),
    (r"/v1/payments/create/recurring", "POST", "payment_create_recurring"),
    (r"/v1/orders/([\w]+)", "GET", "order_fetch"),
    (r"/v1/orders/([\w]+)/payments", "GET", "order_payments"),
    (r"/v1/payments/([\w]+)", "GET", "payment_fetch"),
    (r"/v1/payments/([\w]+)/capture", "POST", "payment_capture"),
    (r"/v1/payments/([\w]+)/refund", "POST", "payment_refund"),
]
