"""A local stand-in for Razorpay's API, spoken to by the real SDK over HTTP.

Implements the few endpoints the portal uses, with Razorpay's JSON shapes and
error format, basic auth, and knobs for the failures we must survive:
`delay_seconds` (slow Razorpay), `fail_next` (5xx answers) and
`echo_amount_delta` (an order echoed with a different amount).
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


def razorpay_id(prefix):
    return f"{prefix}_" + "".join(secrets.choice(ALNUM) for _ in range(14))


def sign(message: str, secret: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class FakeRazorpay:
    def __init__(self, key_id="rzp_test_fake", key_secret="fake-key-secret", webhook_secret="fake-webhook-secret"):
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.orders, self.payments, self.refunds = {}, {}, {}
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
    def start(self):
        fake = self

        class Handler(RazorpayHandler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
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
        return f"http://127.0.0.1:{self.server.server_address[1]}"

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
        with self.lock:
            self.payments[payment["id"]] = payment
            if status == "captured":
                order.update(status="paid", amount_paid=payment["amount"])
        return dict(payment)

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

    def webhook(self, event_type, payment=None, *, refund=None, event_id=None):
        """A signed delivery: (body bytes, headers) exactly as Razorpay would send it."""
        payload = {}
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
        self.fake.orders[order["id"]] = order
        self.reply(200, order)

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
    (r"/v1/orders/([\w]+)", "GET", "order_fetch"),
    (r"/v1/orders/([\w]+)/payments", "GET", "order_payments"),
    (r"/v1/payments/([\w]+)", "GET", "payment_fetch"),
    (r"/v1/payments/([\w]+)/capture", "POST", "payment_capture"),
    (r"/v1/payments/([\w]+)/refund", "POST", "payment_refund"),
]
