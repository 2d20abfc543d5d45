"""Staff dashboard of what needs attention, inside the admin (admin.site.admin_view
wraps every view in urls.py: staff login, CSRF, the admin's look)."""

from functools import wraps

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.models import Order, Payment
from ops.audit import latest_audit
from payments.refunds import payment_refundable_paise
from payments.staff_actions import REFUND_PAYMENT
from security import staff_actions
from security.audit import staff_action_record
from security.second_factor import second_factor_fresh
from servers.models import Server

from . import selectors
from .recovery import UnknownOrders, recover
from .staff_actions import MARK_HANDLED, REQUEUE

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
        "overdue_operations": selectors.overdue_operations(now)[:LIST_LIMIT],
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


def staff_action_run(request, definition, obj, *, reason, done_level=messages.SUCCESS):
    """The dashboard's buttons as staff actions (security.staff_actions): the same
    permission, reason and fresh-code checks as the back office's pages, and the
    audit row in the service's transaction. True when it was done."""
    problem = staff_actions.confirmation_problem(definition, request, reason=reason, objects=[obj])
    if problem:
        messages.error(request, definition.refused(problem))
        return False
    try:
        message = staff_actions.run(definition, obj, reason=reason, request=request, via="dashboard")
    except (staff_actions.StaffActionRefused, *definition.service_errors) as exc:
        messages.warning(request, definition.refused(str(exc)))
        return False
    messages.add_message(request, done_level, message)
    return True


@require_POST
@staff_may("servers.requeue_server")
def retry_provisioning(request, server_id):
    server = get_object_or_404(Server, pk=server_id)
    reason = request.POST.get("reason", "").strip() or "retry provisioning"
    staff_action_run(request, REQUEUE, server, reason=reason)
    return redirect("ops:dashboard")


def refund_payment(request, payment_id):
    """GET: a confirmation page; POST: refund what is left of the payment through
    Razorpay (the staff action payments.staff_actions.REFUND_PAYMENT)."""
    if not REFUND_PAYMENT.allowed(request.user):
        raise PermissionDenied
    payment = get_object_or_404(Payment.objects.select_related("order", "order__user"), razorpay_payment_id=payment_id)
    error = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        error = staff_actions.confirmation_problem(REFUND_PAYMENT, request, reason=reason, objects=[payment])
        if not error:
            try:
                message = staff_actions.run(REFUND_PAYMENT, payment, reason=reason, request=request, via="dashboard")
            except (staff_actions.StaffActionRefused, *REFUND_PAYMENT.service_errors) as exc:
                error = str(exc)
            else:
                messages.success(request, message)
                return redirect("ops:dashboard")
        messages.error(request, REFUND_PAYMENT.refused(error))
    context = {
        **admin.site.each_context(request),
        "title": f"Refund payment {payment_id}",
        "payment": payment,
        "order": payment.order,
        "refundable_paise": payment_refundable_paise(payment),
        "reason": request.POST.get("reason", ""),
    }
    return render(request, "admin/ops/refund_confirm.html", context)


@require_POST
@staff_may("billing.mark_order_handled")
def mark_handled(request, number):
    order = get_object_or_404(Order, number=number)
    staff_action_run(request, MARK_HANDLED, order, reason=request.POST.get("reason", "").strip())
    return redirect("ops:dashboard")
