import logging
import time

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .gateways import webhook_signature_valid
from .webhooks import WebhookRejected, webhook_event_process, webhook_event_store, webhook_parse

logger = logging.getLogger("payments.webhooks")


def rejected(detail):
    return JsonResponse({"detail": detail}, status=400)


@csrf_exempt  # authenticated by the HMAC signature, not by a session
@require_POST
def razorpay_webhook(request):
    started = time.monotonic()
    signature = request.headers.get("X-Razorpay-Signature", "")
    event_id = request.headers.get("X-Razorpay-Event-Id", "")
    if not signature:
        return rejected("Missing X-Razorpay-Signature header.")
    if not event_id:
        return rejected("Missing X-Razorpay-Event-Id header.")
    try:
        body = request.body.decode("utf-8")  # decoded once; verified and stored as received
    except UnicodeDecodeError:
        return rejected("Body is not UTF-8.")
    if not webhook_signature_valid(body, signature):
        logger.warning("webhook_rejected reason=signature event=%s", event_id)
        return rejected("Invalid signature.")
    try:
        event = webhook_parse(body)
    except WebhookRejected as exc:
        return rejected(str(exc))
    stored, created = webhook_event_store(event_id=event_id[:100], signature=signature, body=body, event=event)
    result = webhook_event_process(stored, event) if created else "duplicate"
    logger.info(
        "payment_step step=webhook event=%s type=%s result=%s duration_ms=%.1f",
        stored.event_id,
        stored.event_type,
        result,
        (time.monotonic() - started) * 1000,
    )
    return JsonResponse({"status": "stored", "event_id": stored.event_id, "result": result})
