"""Razorpay webhook deliveries: store first, then act.

A delivery is verified on its raw body (decoded once, never re-serialised),
stored under its unique event id, and only then processed. Processing touches
only our database, so the answer goes back well inside Razorpay's 5 seconds.
A delivery that fails to process stays stored with its error and is retried
by `webhook_events_retry` (Celery beat), so no event is ever lost.
"""

import json
import logging

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing.models import Payment, WebhookEvent
from core.claims import WEBHOOK_RETRIES
from core.sql import insert_unless_exists

from . import hooks
from .gateways import GatewayPayment
from .refunds import refund_apply
from .services import OrderNotFound, payment_apply

logger = logging.getLogger("payments.webhooks")

PAYMENT_EVENTS = {"payment.captured", "payment.failed", "order.paid"}
REFUND_EVENTS = {"refund.created", "refund.processed", "refund.failed"}
# An autopay mandate's token: Razorpay's news of it (CONTRACT: Autopay).
TOKEN_EVENTS = {"token.confirmed", "token.rejected", "token.cancelled", "token.paused"}
HANDLED_EVENTS = PAYMENT_EVENTS | REFUND_EVENTS | TOKEN_EVENTS


class WebhookRejected(ValueError):
    """Not a Razorpay event we can trust or read: answer 400, process nothing."""


def webhook_parse(body: str) -> dict:
    try:
        event = json.loads(body)
    except json.JSONDecodeError as exc:
        raise WebhookRejected("Body is not JSON.") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("event"), str)
        or not isinstance(event.get("payload"), dict)
    ):
        raise WebhookRejected("Body is not a Razorpay event (needs 'event' and 'payload').")
    kind = event["event"]
    if not 0 < len(kind) <= MAX_EVENT_NAME:
        raise WebhookRejected("Body is not a Razorpay event (its 'event' name is empty or too long).")
    if kind in PAYMENT_EVENTS:
        entity_check(kind, event["payload"], "payment", PAYMENT_ENTITY_FIELDS)
    elif kind in REFUND_EVENTS:
        entity_check(kind, event["payload"], "refund", REFUND_ENTITY_FIELDS)
    elif kind in TOKEN_EVENTS:
        entity_check(kind, event["payload"], "token", TOKEN_ENTITY_FIELDS)
    return event


# What an event we act on must carry, and of which type, before it is stored: a
# signed body of another shape is refused (400) instead of failing on every retry.
MAX_EVENT_NAME = WebhookEvent._meta.get_field("event_type").max_length
MAX_ID = 64  # the longest Razorpay id we store (Payment.razorpay_payment_id, Order.razorpay_order_id)
PAYMENT_ENTITY_FIELDS = {"id": str, "status": str, "amount": int, "currency": str}
REFUND_ENTITY_FIELDS = {"id": str, "payment_id": str, "amount": int}
TOKEN_ENTITY_FIELDS = {"id": str}


def entity_check(kind, payload, name, fields):
    holder = payload.get(name)
    entity = holder.get("entity") if isinstance(holder, dict) else None
    if not isinstance(entity, dict):
        raise WebhookRejected(f"{kind} without a {name} entity.")
    for field, expected in fields.items():
        value = entity.get(field)
        if isinstance(value, bool) or not isinstance(value, expected) or (expected is str and not value):
            raise WebhookRejected(f"{kind}: the {name} entity's '{field}' is missing or not a {expected.__name__}.")
    ids = [entity[field] for field in ("id", "payment_id") if field in fields]
    order_id = entity.get("order_id")
    if order_id is not None:
        if not isinstance(order_id, str):
            raise WebhookRejected(f"{kind}: the {name} entity's 'order_id' is not a string.")
        ids.append(order_id)
    if any(len(value) > MAX_ID for value in ids):
        raise WebhookRejected(f"{kind}: an id in the {name} entity is longer than {MAX_ID} characters.")


def payment_entity(event: dict) -> dict | None:
    return ((event.get("payload") or {}).get("payment") or {}).get("entity")


def refund_entity(event: dict) -> dict | None:
    return ((event.get("payload") or {}).get("refund") or {}).get("entity")


def token_entity(event: dict) -> dict | None:
    return ((event.get("payload") or {}).get("token") or {}).get("entity")


def webhook_event_store(*, event_id: str, signature: str, body: str, event: dict) -> tuple[WebhookEvent, bool]:
    """Store a verified delivery, committed before anything acts on it.
    Returns (event, created); a duplicate id is not an error."""
    entity = payment_entity(event) or {}
    payment_id = entity.get("id")
    if event["event"] in REFUND_EVENTS:
        payment_id = (refund_entity(event) or {}).get("payment_id") or payment_id  # to find it once the payment exists
    stored = WebhookEvent(
        event_id=event_id,
        event_type=event["event"],
        raw_body=body,
        signature=signature,
        razorpay_order_id=str(entity.get("order_id") or "")[:64],
        razorpay_payment_id=str(payment_id or "")[:64],
        status=WebhookEvent.Status.RECEIVED if event["event"] in HANDLED_EVENTS else WebhookEvent.Status.IGNORED,
    )
    if insert_unless_exists(stored, "event_id"):
        return stored, True
    return WebhookEvent.objects.get(event_id=event_id), False


def webhook_event_process(stored: WebhookEvent, event: dict | None = None) -> str:
    """Act on a stored delivery (`event`: its parsed body, when the caller has it).
    Safe to run twice (the request and the retry task may overlap): everything it
    calls is idempotent under the order lock. The effects and the event's
    "processed" mark commit together, so a processed event has really been applied."""
    if stored.status not in (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED, WebhookEvent.Status.WAITING):
        return stored.status
    try:
        with transaction.atomic():
            result = webhook_event_apply(
                event if event is not None else json.loads(stored.raw_body), event_id=stored.event_id
            )
            WebhookEvent.objects.filter(pk=stored.pk).update(
                status=OUTCOME_STATUS.get(result, WebhookEvent.Status.PROCESSED),
                error="",
                processed_at=timezone.now(),
                attempts=F("attempts") + 1,
            )
    except Exception as exc:  # noqa: BLE001 - stored with its error and retried, never dropped
        logger.exception("webhook_failed event=%s type=%s", stored.event_id, stored.event_type)
        WebhookEvent.objects.filter(pk=stored.pk).update(
            status=WebhookEvent.Status.FAILED, error=f"{type(exc).__name__}: {exc}", attempts=F("attempts") + 1
        )
        return "failed"
    logger.info("webhook_processed event=%s type=%s result=%s", stored.event_id, stored.event_type, result)
    return result


OUTCOME_STATUS = {"ignored": WebhookEvent.Status.IGNORED, "waiting": WebhookEvent.Status.WAITING}


def webhook_event_apply(event: dict, *, event_id="") -> str:
    kind = event["event"]
    if kind in PAYMENT_EVENTS:
        entity = payment_entity(event)
        if not entity:
            raise ValueError(f"{kind} without a payment entity")
        gateway_payment = GatewayPayment.from_entity(entity)
        if not gateway_payment.order_id:
            return "ignored"  # not paid through a portal order
        try:
            outcome = payment_apply(
                razorpay_order_id=gateway_payment.order_id, gateway_payment=gateway_payment, source="webhook"
            )
        except OrderNotFound:
            return "ignored"  # another integration's order on the same Razorpay account
        return outcome.result
    if kind in REFUND_EVENTS:
        entity = refund_entity(event)
        refund = refund_apply(
            refund_id=str(entity["id"]),
            payment_id=str(entity["payment_id"]),
            amount_paise=int(entity["amount"]),
            # The event's name is the news ("created" is a pending refund), whatever
            # status a replayed entity carries.
            status=kind.removeprefix("refund."),
            source="webhook",
        )
        # An event about a payment we have not recorded yet waits for it (a refund
        # before its capture): the funnel applies it when the payment arrives.
        return f"refund_{refund.status}" if refund else "waiting"
    if kind in TOKEN_EVENTS:
        # The mandate is the subscription layer's (payments.hooks): a token it does not hold yet is kept there.
        if hooks.token_event_handler is None:
            return "ignored"
        return hooks.token_event_handler(str(token_entity(event)["id"]), kind.removeprefix("token."), event_id=event_id)
    return "ignored"


WAITING_EXISTS_SQL = (
    f"SELECT 1 FROM {WebhookEvent._meta.db_table} WHERE status = %s AND razorpay_payment_id = %s LIMIT 1"
)


def webhook_events_waiting_apply(razorpay_payment_id) -> int:
    """Apply the events kept for a payment that has just been recorded. Runs after
    the funnel's commit; webhook_events_retry is the net if this never runs. The
    usual answer, "none", costs one indexed statement built once."""
    with connection.cursor() as cursor:
        cursor.execute(WAITING_EXISTS_SQL, [WebhookEvent.Status.WAITING, razorpay_payment_id])
        if cursor.fetchone() is None:
            return 0
    events = list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.WAITING, razorpay_payment_id=razorpay_payment_id
        ).order_by("received_at", "id")
    )
    for stored in events:
        webhook_event_process(stored)
    return len(events)


def webhook_events_retry(limit=100) -> int:
    """Reprocess stored deliveries that failed (or were stored but never processed)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=30)
    events = list(
        WebhookEvent.objects.filter(
            status__in=[WebhookEvent.Status.FAILED, WebhookEvent.Status.RECEIVED],
            received_at__lt=cutoff,
            attempts__lt=WEBHOOK_RETRIES.max_attempts,
        )[:limit]
    )
    # Waiting events whose payment has been recorded since (in case the funnel's
    # after-commit hand-off never ran): without a payment they keep waiting.
    events += list(
        WebhookEvent.objects.filter(
            status=WebhookEvent.Status.WAITING,
            razorpay_payment_id__in=Payment.objects.values("razorpay_payment_id"),
        )[:limit]
    )
    for stored in events:
        webhook_event_process(stored)
    return len(events)
