"""Staff dashboard of what needs attention, inside the admin (admin.site.admin_view
wraps every view in urls.py: staff login, CSRF, the admin's look)."""

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.gateways import GatewayError
from billing.models import Payment
from billing.refunds import payment_refundable_paise

from . import selectors
from .recovery import UnknownOrders, recover, stuck_server_requeue
from .services import ActionRefused, order_mark_handled, payment_refund_by_staff

LIST_LIMIT = 50  # rows per list, oldest first; the counts above each list are exact


def staff_can_act(view):
    """Actions change orders and move money: they need billing.change_order, not only staff."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm("billing.change_order"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def dashboard(request):
    now = timezone.now()
    orphaned_count, orphaned = selectors.orphaned_orders_first(LIST_LIMIT)
    counts = selectors.ops_counts(now, orphaned=orphaned_count)
    context = {
        **admin.site.each_context(request),
        "title": "Orphaned orders and stuck servers",
        "now": now,
        "counts": counts,
        "orphaned": orphaned,
        "stuck": selectors.stuck_servers(now)[:LIST_LIMIT],
        "mismatches": selectors.amount_mismatch_orders().prefetch_related("payments")[:LIST_LIMIT],
        "failed_webhooks": selectors.failed_webhook_events()[:LIST_LIMIT],
        "list_limit": LIST_LIMIT,
        "can_act": request.user.has_perm("billing.change_order"),
    }
    return render(request, "admin/ops/dashboard.html", context)


@require_POST
@staff_can_act
def recover_orders(request):
    number = request.POST.get("order", "").strip()
    try:
        report = recover([number] if number else None, source="admin", actor=request.user, include_stuck=False)
    except UnknownOrders as exc:
        messages.error(request, str(exc))
        return redirect("ops:dashboard")
    for item in report.created:
        messages.success(request, f"Created server #{item['server']} for {item['order']}; provisioning queued.")
    for item in report.skipped:
        messages.info(request, f"{item['order']}: {item['reason']}.")
    for item in report.errors:
        messages.error(request, f"{item['order']}: {item['error']}")
    if not report.has_work:
        messages.info(request, "No orphaned orders to recover.")
    return redirect("ops:dashboard")


@require_POST
@staff_can_act
def retry_provisioning(request, server_id):
    if stuck_server_requeue(server_id, source="admin", actor=request.user):
        messages.success(request, f"Server #{server_id} requeued for provisioning.")
    else:
        messages.warning(request, f"Server #{server_id} is not stuck (or a worker holds it); nothing done.")
    return redirect("ops:dashboard")


def refund_payment(request, payment_id):
    """GET: a confirmation page; POST: refund through Razorpay and record it.
    Moving money back needs its own permission, billing.refund_order."""
    if not request.user.has_perm("billing.refund_order"):
        raise PermissionDenied
    payment = get_object_or_404(Payment.objects.select_related("order", "order__user"), razorpay_payment_id=payment_id)
    if request.method == "POST":
        try:
            refund = payment_refund_by_staff(
                payment_id=payment_id, actor=request.user, reason=request.POST.get("reason")
            )
        except (ActionRefused, GatewayError) as exc:
            messages.error(request, f"Refund not made: {exc}")
        else:
            messages.success(
                request, f"Refund {refund.razorpay_refund_id} of {payment_id}: {refund.get_status_display()}."
            )
            return redirect("ops:dashboard")
    context = {
        **admin.site.each_context(request),
        "title": f"Refund payment {payment_id}",
        "payment": payment,
        "order": payment.order,
        "refundable_paise": payment_refundable_paise(payment),
    }
    return render(request, "admin/ops/refund_confirm.html", context)


@require_POST
@staff_can_act
def mark_handled(request, number):
    try:
        order_mark_handled(number=number, actor=request.user, reason=request.POST.get("reason"))
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Order {number} marked handled.")
    return redirect("ops:dashboard")
