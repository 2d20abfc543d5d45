"""Staff dashboard of what needs attention, inside the admin (admin.site.admin_view
wraps every view in urls.py: staff login, CSRF, the admin's look)."""

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.audit import latest_audit
from billing.gateways import GatewayError
from billing.models import Payment
from billing.refunds import payment_refundable_paise
from security.audit import staff_action_record
from security.second_factor import second_factor_fresh
from servers.models import Server

from . import selectors
from .recovery import UnknownOrders, recover, stuck_server_requeue
from .services import ActionRefused, order_mark_handled, payment_refund_by_staff

LIST_LIMIT = 50  # rows per list, oldest first; the counts above each list are exact


def staff_may(permission):
    """Actions move orders, money or machines: each needs its own permission, not only staff."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def second_factor_refused(request):
    """A recovery run or a refund moves machines or money: a fresh code from the staff
    user's app, checked now (the session's own check is not enough)."""
    if second_factor_fresh(request, request.POST.get("otp_code")):
        return False
    messages.error(request, "Nothing done: type a fresh code from your authenticator app with the action.")
    return True


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
        "failed_operations": selectors.failed_operations()[:LIST_LIMIT],
        "list_limit": LIST_LIMIT,
        "can_refund": request.user.has_perm("billing.refund_order"),
        "can_recover": request.user.has_perm("servers.requeue_server"),
        "can_mark_handled": request.user.has_perm("billing.mark_order_handled"),
        "ledger_audit": latest_audit(),
    }
    return render(request, "admin/ops/dashboard.html", context)


@require_POST
@staff_may("servers.requeue_server")
def recover_orders(request):
    number = request.POST.get("order", "").strip()
    if second_factor_refused(request):
        return redirect("ops:dashboard")
    try:
        report = recover([number] if number else None, source="admin", actor=request.user, include_stuck=False)
    except UnknownOrders as exc:
        messages.error(request, str(exc))
        return redirect("ops:dashboard")
    staff_action_record(
        "servers.requeue_server",
        target=None,
        request=request,
        via="dashboard",
        reason=f"recover orphaned order {number}" if number else "recover all orphaned orders",
        details={"created": report.created, "skipped": report.skipped, "errors": report.errors},
    )
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
@staff_may("servers.requeue_server")
def retry_provisioning(request, server_id):
    server = get_object_or_404(Server, pk=server_id)
    if second_factor_refused(request):
        return redirect("ops:dashboard")
    if stuck_server_requeue(server_id, source="admin", actor=request.user):
        staff_action_record(
            "servers.requeue_server", target=server, request=request, via="dashboard", reason="retry provisioning"
        )
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
    if request.method == "POST" and not second_factor_refused(request):
        try:
            refund = payment_refund_by_staff(
                payment_id=payment_id, actor=request.user, reason=request.POST.get("reason"), request=request
            )
        except (ActionRefused, GatewayError) as exc:
            messages.error(request, f"Refund not made: {exc}")
        else:  # the staff audit row was written with the refund (billing.refunds.refund_payment)
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
@staff_may("billing.mark_order_handled")
def mark_handled(request, number):
    try:
        with transaction.atomic():
            order = order_mark_handled(number=number, actor=request.user, reason=request.POST.get("reason"))
            staff_action_record(
                "billing.mark_order_handled",
                target=order,
                request=request,
                via="dashboard",
                reason=order.handled_reason,
            )
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Order {number} marked handled.")
    return redirect("ops:dashboard")
