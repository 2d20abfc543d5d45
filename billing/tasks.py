from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .models import Order
from .templatetags.money import rupees


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_payment_received_email(order_id):
    order = Order.objects.select_related("user").get(pk=order_id)
    send_mail(
        subject=f"Payment received for order {order.number}",
        message=(
            f"Thank you. We received {rupees(order.total_paise)} for {order.plan_name} "
            f"({order.billing_cycle_months} month(s)), order {order.number}.\n\n"
            f"Your server is being set up; follow it at {settings.SITE_URL}/servers/\n"
            f"Tax invoice: {settings.SITE_URL}/orders/{order.number}/invoice/\n"
        ),
        from_email=None,
        recipient_list=[order.user.email],
    )
