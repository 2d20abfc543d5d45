"""Back-office pages inside the admin (admin.site.admin_view wraps each in urls.py:
staff sign-in, the admin's look); each checks its own permission as well."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from billing.invoice_pdf import invoice_pdf
from billing.invoices import NoInvoice, invoice_for
from billing.models import Order

from . import actions, display
from .selectors import customer_history


def require_perm(request, codename):
    if not request.user.has_perm(codename):
        raise PermissionDenied


def customer(request, user_id):
    """One customer's whole history: orders, payments, refunds, servers, tickets, and
    every recorded change across them."""
    require_perm(request, "accounts.view_user")
    require_perm(request, "billing.view_order")
    person = get_object_or_404(get_user_model(), pk=user_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Customer {person.email}",
        "history": customer_history(person),
    }
    return render(request, "admin/backoffice/customer.html", context)


def staff_order_invoice(request, number):
    """The order's tax invoice as its customer sees it (HTML), or its PDF with ?pdf=1."""
    require_perm(request, "billing.view_order")
    order = get_object_or_404(Order.objects.select_related("user"), number=number)
    try:
        invoice = invoice_for(order)
    except NoInvoice as exc:
        raise Http404("This order has no invoice.") from exc
    if request.GET.get("pdf") == "1":
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="invoice-{invoice.number.replace("/", "-")}.pdf"'
        return response
    return render(request, "billing/invoice.html", {"invoice": invoice, "order": order, "staff_view": True})


@require_http_methods(["GET", "POST"])
def staff_action(request, model_name, pk, key):
    """GET: what the action will do and a required reason; POST (the confirmation):
    do it through its service, then back to the object's admin page with the outcome."""
    action = actions.find(model_name, key)
    if action is None:
        raise Http404("No such action.")
    require_perm(request, action.permission)
    obj = get_object_or_404(action.model, pk=pk)
    back = display.admin_url(obj)
    error = ""
    if request.method == "POST":
        error = actions.confirmation_problem(action, request) or ""
        if not error:
            reason = request.POST["reason"].strip()
            try:
                messages.success(request, actions.run(action, obj, reason=reason, request=request))
            except actions.StaffActionRefused as exc:
                messages.error(request, f"{action.label}: not done. {exc}")
            return redirect(back)
    context = {
        **admin.site.each_context(request),
        "title": f"{action.label} {obj._meta.verbose_name} {obj}",
        "action": action,
        "obj": obj,
        "unavailable": action.unavailable(obj),
        "back": back,
        "error": error,
        "opts": obj._meta,
    }
    return render(request, "admin/backoffice/action_confirm.html", context, status=400 if error else 200)
