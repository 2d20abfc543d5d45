from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services import billing_details_remember
from billing import gst, pricing, selectors
from billing.credit_notes import credit_note_view
from billing.forms import CYCLE_CHOICES, cycle_from
from billing.invoice_pdf import credit_note_pdf, invoice_pdf
from billing.invoices import NoInvoice, invoice_for
from billing.models import Order

from . import services
from .forms import CheckoutForm
from .gateways import GatewayError
from .gateways.simulated import simulated_checkout_response
from .recurring import ContactInvalid, recurring_customer_ensure


def plans(request):
    cards = [{"plan": plan, "quote": pricing.quote(plan, 1)} for plan in selectors.active_plans()]
    return render(request, "billing/plans.html", {"cards": cards})


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request, slug):
    plan = get_object_or_404(selectors.active_plans(), slug=slug)
    if request.method == "POST":
        form = CheckoutForm(request.POST, user=request.user)
        if form.is_valid():
            return checkout_submit(request, plan, form)
        cycle = cycle_from(request.POST.get("billing_cycle_months"))
        return checkout_page(request, plan, form, cycle, request.POST.get("state"), status=400)
    cycle = cycle_from(request.GET.get("billing_cycle_months"))
    if request.htmx:
        # The breakdown alone, re-rendered by the server when the cycle or the state changes.
        return render(request, "billing/_breakdown.html", breakdown(plan, cycle, request.GET.get("state")))
    initial = checkout_initial(request.user, cycle)
    state = request.GET.get("state", initial["state"])
    return checkout_page(
        request, plan, CheckoutForm(initial={**initial, "state": state}, user=request.user), cycle, state
    )


def breakdown(plan, cycle, state):
    """The price and its tax lines for the chosen state (CGST + SGST or IGST), by the
    same pricing and tax-split code as the invoice; no lines until a state is chosen."""
    quote = pricing.quote(plan, cycle)
    context = {"plan": plan, "quote": quote, "state": "", "tax_lines": (), "seller_state": settings.SELLER_STATE}
    if state in gst.STATE_CODE_BY_NAME:
        intra_state = gst.is_intra_state(state)
        context.update(state=state, intra_state=intra_state)
        context["tax_lines"] = pricing.tax_lines(quote.tax_paise, quote.gst_rate_percent, intra_state)
    return context


def checkout_page(request, plan, form, cycle, state, status=200):
    context = {**breakdown(plan, cycle, state), "form": form, "cycle_choices": CYCLE_CHOICES}
    return render(request, "billing/checkout.html", context, status=status)


def checkout_initial(user, cycle):
    """Checkout starts from the customer's saved billing details (account page)."""
    return {
        "billing_cycle_months": cycle,
        "name": user.billing_name or user.full_name,
        "address": user.billing_address,
        "state": user.billing_state,
        "gstin": user.gstin,
    }


def checkout_submit(request, plan, form):
    cycle = form.cleaned_data["billing_cycle_months"]
    billing_details_remember(request.user, **form.buyer())
    try:
        customer = None
        if form.cleaned_data["autopay"]:
            customer = recurring_customer_ensure(request.user, form.cleaned_data["contact"])
        order = services.order_create(
            user=request.user,
            plan=plan,
            billing_cycle_months=cycle,
            buyer=form.buyer(),
            ssh_keys=list(form.cleaned_data["ssh_keys"]),
            recurring_customer=customer,
        )
    except ContactInvalid as exc:
        form.add_error("contact", str(exc))
        return checkout_page(request, plan, form, cycle, form.cleaned_data["state"], status=400)
    except services.OrderError as exc:
        messages.error(request, str(exc))
        return redirect("billing:plans")
    except GatewayError as exc:
        # order_create commits the order before calling Razorpay: it waits under
        # Orders with "Complete payment", or the customer can submit again here.
        messages.error(request, exc.customer_message)
        return checkout_page(request, plan, form, cycle, form.cleaned_data["state"], status=503)
    return redirect(reverse("billing:order", args=[order.number]) + "?pay=1")


@login_required
@require_GET
def order_list(request):
    page = Paginator(selectors.orders_for_user(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "billing/order_list.html", {"page": page})


@login_required
@require_GET
def invoice_list(request):
    page = Paginator(selectors.invoices_with_credit_notes_for_user(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "billing/invoice_list.html", {"page": page})


def own_order(request, number):
    return get_object_or_404(selectors.orders_for_user(request.user), number=number)


def awaiting_payment(order):
    """Unpaid and not held for staff: a flagged order may already have money
    against it (say, a mismatched capture), so the customer must not pay again."""
    return order.status == Order.Status.CREATED and not order.needs_attention


@login_required
@require_GET
def order_detail(request, number):
    order = own_order(request, number)
    intra_state = gst.is_intra_state(gst.place_of_supply(order.buyer_state, order.buyer_gstin))
    context = {
        "order": order,
        "server": services.order_server(order),
        "tax_lines": pricing.tax_lines(order.tax_paise, order.gst_rate_percent, intra_state),
        "credit_notes": order.credit_notes.all(),
        "refunded_paise": selectors.order_refunded_paise(order),
    }
    if awaiting_payment(order) and order.razorpay_order_id:
        context["checkout_options"] = services.checkout_options(order)
        context["autopay"] = request.GET.get("pay") == "1"
    return render(request, "billing/order_detail.html", context)


@login_required
@require_POST
def order_pay(request, number):
    """Retry a `created` order whose Razorpay order could not be created at checkout."""
    order = own_order(request, number)
    if not awaiting_payment(order):
        messages.info(request, f"Order {order.number} has nothing to pay.")
        return redirect("billing:order", number=order.number)
    try:
        services.order_gateway_ensure(order)
    except GatewayError as exc:
        messages.error(request, exc.customer_message)
        return redirect("billing:order", number=order.number)
    return redirect(reverse("billing:order", args=[order.number]) + "?pay=1")


@login_required
@require_POST
def simulated_payment(request, number):
    """What Razorpay Checkout would hand its handler, for the built-in simulated
    checkout. The browser then posts it to the real verify endpoint."""
    if not settings.PAYMENTS_SIMULATED:
        raise Http404("Payments are not simulated.")
    order = own_order(request, number)
    if not awaiting_payment(order) or not order.razorpay_order_id:
        raise Http404("This order is not awaiting payment.")
    return JsonResponse(simulated_checkout_response(order))


def paid_order_invoice(request, number):
    order = own_order(request, number)
    try:
        return invoice_for(order)
    except NoInvoice as exc:
        raise Http404("This order has no invoice.") from exc


@login_required
@require_GET
def invoice(request, number):
    return render(request, "billing/invoice.html", {"invoice": paid_order_invoice(request, number)})


@login_required
@require_GET
def invoice_download(request, number):
    invoice = paid_order_invoice(request, number)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    filename = "invoice-" + invoice.number.replace("/", "-") + ".pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def own_credit_note(request, number, note_id):
    """The caller's own credit note, or 404 (also for anyone else's)."""
    order = own_order(request, number)
    note = get_object_or_404(order.credit_notes.select_related("order", "invoice"), pk=note_id)
    return credit_note_view(note)


@login_required
@require_GET
def credit_note(request, number, note_id):
    return render(request, "billing/credit_note.html", {"note": own_credit_note(request, number, note_id)})


@login_required
@require_GET
def credit_note_download(request, number, note_id):
    note = own_credit_note(request, number, note_id)
    response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
    filename = "credit-note-" + note.number.replace("/", "-") + ".pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
