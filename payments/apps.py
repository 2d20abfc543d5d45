from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """The money side of an order: gateways, capture, the payment funnel, verify,
    webhooks, reconcile and refunds, with the checkout pages and the payment API.
    No models: Payment, Refund and WebhookEvent stay in billing (no table moves)."""

    name = "payments"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
