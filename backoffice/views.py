"""Back-office pages inside the admin (admin.site.admin_view wraps each in urls.py:
staff sign-in, the admin's look); each checks its own permission as well."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from affiliates.forms import PayoutForm
from affiliates.models import Affiliate, Commission
from affiliates.selectors import affiliates_with_balances
from affiliates.staff_actions import PAYOUT
from billing.credit_notes import credit_note_view
from billing.invoice_pdf import credit_note_pdf, invoice_pdf
from billing.invoices import NoInvoice, invoice_for
from billing.models import CreditNote, Order
from core import display
from security import staff_actions

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


def confirmation_context(request, definition, *, title, form, error, **extra):
    return {
        **admin.site.each_context(request),
        "title": title,
        "action": definition,
        "form": form,
        "error": error,
        "reason": request.POST.get("reason", ""),
        **extra,
    }


def staff_credit_note(request, note_id):
    """A credit note as its customer sees it (HTML), or its PDF with ?pdf=1: the
    stored document, for staff answering a customer or an accountant."""
    require_perm(request, "billing.view_order")
    stored = get_object_or_404(CreditNote.objects.select_related("order", "order__user", "invoice"), pk=note_id)
    note = credit_note_view(stored)
    if request.GET.get("pdf") == "1":
        response = HttpResponse(credit_note_pdf(note), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="credit-note-{note.number.replace("/", "-")}.pdf"'
        return response
    return render(request, "billing/credit_note.html", {"note": note, "order": stored.order, "staff_view": True})


@require_http_methods(["GET", "POST"])
def staff_action(request, model_name, pk, key):
    """GET: what the action will do, its own inputs and a required reason; POST (the
    confirmation): do it through security.staff_actions, then back to the object's
    admin page with the outcome. A refused confirmation shows the page again with
    the error and what was typed."""
    definition = staff_actions.find(model_name, key)
    if definition is None:
        raise Http404("No such action.")
    if not definition.allowed(request.user):
        raise PermissionDenied
    obj = get_object_or_404(definition.model, pk=pk)
    back = display.admin_url(obj)
    form = staff_actions.form_for(definition, request.POST if request.method == "POST" else None, [obj])
    error = ""
    if request.method == "POST":
        why = definition.unavailable(obj)
        if why:  # the page said so already; checked before anything else, so no code is spent
            messages.error(request, f"{definition.label}: not done. {why}")
            return redirect(back)
        reason = request.POST.get("reason", "").strip()
        error = staff_actions.confirmation_problem(definition, request, reason=reason, form=form, objects=[obj]) or ""
        if not error:
            params = form.params() if form is not None else {}
            try:
                messages.success(
                    request, staff_actions.run(definition, obj, reason=reason, request=request, params=params)
                )
            except (staff_actions.StaffActionRefused, *definition.service_errors) as exc:
                messages.error(request, f"{definition.label}: not done. {exc}")
            return redirect(back)
    context = confirmation_context(
        request,
        definition,
        title=f"{definition.label} {obj._meta.verbose_name} {obj}",
        form=form,
        error=error,
        obj=obj,
        unavailable=definition.unavailable(obj),
        what=definition.describe(obj) if definition.describe else "",
        back=back,
        opts=obj._meta,
    )
    return render(request, "admin/backoffice/action_confirm.html", context, status=400 if error else 200)


def selected_objects(request, definition):
    """The objects picked in the changelist: the admin's own queryset when the list
    action forwarded here (security.staff_actions.list_action), else the posted ids."""
    queryset = getattr(request, "staff_action_queryset", None)
    if queryset is None:
        ids = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        queryset = definition.model._default_manager.filter(pk__in=[i for i in ids if i.isdigit()])
    related = [f.name for f in definition.model._meta.fields if f.name in ("user", "order", "server")]
    return list(queryset.select_related(*related).order_by("pk"))


@require_http_methods(["POST"])
def staff_list_action(request, model_name, key):
    """A staff action on the objects selected in a changelist. The changelist's POST
    shows a confirmation page (what it does, each object and whether it can be done
    now, the action's own inputs, a reason, a fresh code where wanted); its own POST,
    with `apply`, runs the action on each and reports each, back on the changelist.
    A refused confirmation shows the page again with the error beside what was typed."""
    definition = staff_actions.find(model_name, key)
    if definition is None:
        raise Http404("No such action.")
    if not definition.allowed(request.user):
        raise PermissionDenied
    objects = selected_objects(request, definition)
    opts = definition.model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    applying = bool(request.POST.get("apply"))
    form = staff_actions.form_for(definition, request.POST if applying else None, objects)
    error = None
    if applying:
        reason = request.POST.get("reason", "").strip()
        blocked = None
        if reason and (form is None or form.is_valid()):
            blocked = staff_actions.none_available(definition, objects, form.params() if form else {})
        if blocked:  # each object's own reason, as a refused run would give it
            for obj, why in blocked:
                messages.error(request, definition.object_refused_message(obj, why))
                if form is not None and definition.refusal_field in form.fields:
                    form.add_error(definition.refusal_field, why)
            error = " ".join(why for _, why in blocked)
        else:
            error = staff_actions.confirmation_problem(definition, request, reason=reason, form=form, objects=objects)
            if error:
                messages.error(request, definition.refused(error))
        if error is None:
            params = form.params() if form is not None else {}
            for outcome in staff_actions.run_each(definition, objects, reason=reason, request=request, params=params):
                if outcome.done:
                    messages.success(request, outcome.message)
                else:
                    messages.error(request, definition.object_refused_message(outcome.obj, outcome.message))
            return redirect(changelist)
    # (object, why it cannot be done now, what it would do); a typed amount's refusal sits beside the amount.
    rows = [
        (obj, definition.unavailable(obj), definition.describe(obj) if definition.describe else "") for obj in objects
    ]
    context = confirmation_context(
        request,
        definition,
        title=definition.list_title or f"{definition.label} the selected {opts.verbose_name_plural}",
        form=form,
        error=error,
        list_action=getattr(request, "staff_action_list_name", request.POST.get("action", "")),
        rows=rows,
        doable=sum(1 for _, unavailable, _ in rows if unavailable is None),
        described=definition.describe is not None,
        opts=opts,
        changelist=changelist,
        action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
    )
    return render(request, "admin/backoffice/list_action_confirm.html", context, status=400 if error else 200)


def affiliate_payout(request, user_id):
    """Record a payout (the staff action affiliates.staff_actions.PAYOUT): amount,
    reference and date, settling approved commissions oldest first. What was typed
    comes back with the error beside it when the service refuses it."""
    if not PAYOUT.allowed(request.user):
        raise PermissionDenied
    affiliate = get_object_or_404(affiliates_with_balances(Affiliate.objects.all()), pk=user_id)
    form = PayoutForm(request.POST or None, initial={"amount": affiliate.approved_paise})  # paise: shown in rupees
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["note"] or f"Payout, reference {form.cleaned_data['reference']}"
        try:
            message = staff_actions.run(PAYOUT, affiliate, reason=reason, request=request, params=form.params())
        except staff_actions.StaffActionRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, message)
            return redirect("admin:affiliates_affiliate_changelist")
    approved = Commission.objects.filter(affiliate=affiliate, status=Commission.Status.APPROVED)
    context = {
        **admin.site.each_context(request),
        "title": f"Record a payout to {affiliate.email}",
        "affiliate": affiliate,
        "form": form,
        "approved": approved.select_related("order").order_by("approved_at", "pk"),
        "opts": Affiliate._meta,
    }
    return render(request, "admin/affiliates/payout.html", context)
