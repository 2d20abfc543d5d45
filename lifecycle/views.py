"""The server page's renew and cancel forms (the page itself is dashboard.server_views)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.models import BILLING_CYCLES, HostingPlan, Order
from billing.recurring import ContactInvalid
from billing.services import OrderError
from payments.gateways import GatewayError
from payments.recurring import recurring_customer_ensure
from payments.services import order_gateway_ensure
from servers import selectors

from .autopay.mandates import AutopayRefused, mandate_turn_off
from .plan_changes import PlanChangeInvalid, PlanChangeRefused, plan_change_cancel, plan_change_request
from .renewals import RenewalRefused, cancellation_set, renewal_issue


def own_server(request, pk):
    return get_object_or_404(selectors.servers_for_user(request.user), pk=pk)


@login_required
@require_POST
def server_renew(request, pk):
    """Renew for the chosen months, then straight to paying it (Razorpay Checkout opens on the order page)."""
    server = own_server(request, pk)
    try:
        months = int(request.POST.get("billing_cycle_months") or server.billing_cycle_months)
        if months not in BILLING_CYCLES:
            raise ValueError(months)
    except ValueError:
        messages.error(request, "Choose 1, 3, 6 or 12 months.")
        return redirect("servers:detail", pk=server.pk)
    try:
        customer = None
        if request.POST.get("autopay") == "1":
            customer = recurring_customer_ensure(request.user, request.POST.get("contact") or None)
        order = renewal_issue(
            server.pk, billing_cycle_months=months, source="web", actor=request.user, recurring_customer=customer
        )
        order_gateway_ensure(order)
    except (RenewalRefused, OrderError, ContactInvalid) as exc:
        messages.error(request, str(exc))
        return redirect("servers:detail", pk=server.pk)
    except GatewayError as exc:
        messages.error(request, exc.customer_message)
        return redirect("servers:detail", pk=server.pk)
    return redirect(reverse("billing:order", args=[order.number]) + "?pay=1")


@login_required
@require_POST
def server_cancellation(request, pk):
    server = own_server(request, pk)
    cancel = request.POST.get("cancel") == "1"
    try:
        cancellation_set(server.pk, cancel=cancel, source="web", actor=request.user)
    except RenewalRefused as exc:
        messages.error(request, str(exc))
    else:
        if cancel:
            messages.success(request, "Done: the server will be deleted at the end of its paid period.")
        else:
            messages.success(request, "Done: the server will keep running and renew as usual.")
    return redirect("servers:detail", pk=server.pk)


@login_required
@require_POST
def server_plan_change(request, pk):
    """The change-plan form: an upgrade goes straight to paying its order; a downgrade is scheduled."""
    server = own_server(request, pk)
    plan = HostingPlan.objects.filter(slug=request.POST.get("plan", "")).first()
    try:
        result = plan_change_request(server.pk, plan, source="web", actor=request.user)
        if isinstance(result, Order):
            order_gateway_ensure(result)
            return redirect(reverse("billing:order", args=[result.number]) + "?pay=1")
    except (PlanChangeInvalid, PlanChangeRefused, OrderError) as exc:
        messages.error(request, str(exc))
    except GatewayError as exc:
        messages.error(request, exc.customer_message)
    else:
        messages.success(
            request, f"Done: the server moves to {plan.name} when its paid period ends; renewals are priced at it."
        )
    return redirect("servers:detail", pk=server.pk)


@login_required
@require_POST
def server_plan_change_cancel(request, pk):
    server = own_server(request, pk)
    try:
        plan_change_cancel(server.pk, source="web", actor=request.user)
    except PlanChangeRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Done: the server stays on its plan.")
    return redirect("servers:detail", pk=server.pk)


@login_required
@require_POST
def server_autopay_off(request, pk):
    """The server page's "Turn off autopay": the same service as DELETE /api/v1/servers/<id>/autopay/."""
    server = own_server(request, pk)
    try:
        mandate_turn_off(server.pk, source="web", actor=request.user)
    except AutopayRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Autopay is off: no renewal of this server will be debited automatically.")
    return redirect("servers:detail", pk=server.pk)
