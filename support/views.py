from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.authentication import login_or_token_required
from security.second_factor import second_factor_required

from . import selectors, services
from .forms import ReplyForm, TicketForm
from .models import Ticket, TicketAttachment
from .uploads import AttachmentRefused, upload_limit_install


def with_upload_limits(view):
    """Install the streaming upload limits before anything reads the body. CsrfViewMiddleware reads
    request.POST, so it is exempted here and the same check runs inside, after the handler is in place
    (the pattern Django's upload-handler docs give)."""
    protected = csrf_protect(view)

    @csrf_exempt
    def wrapper(request, *args, **kwargs):
        request.upload_limit = upload_limit_install(request) if request.method == "POST" else None
        return protected(request, *args, **kwargs)

    return wrapper


def upload_error(request):
    return request.upload_limit.error if request.upload_limit else ""


def upload_files(request):
    # After a stopped upload the files received so far are closed: nothing of them is kept.
    return None if upload_error(request) else request.FILES


@login_required
@require_GET
def ticket_list(request):
    page = Paginator(selectors.tickets_for_user(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "support/list.html", {"page": page})


@login_required
@with_upload_limits
def ticket_new(request):
    servers = selectors.servers_for_ticket_form(request.user)
    if request.method != "POST":
        form = TicketForm(servers=servers, initial={"server": request.GET.get("server")})
        return render(request, "support/new.html", {"form": form})
    form = TicketForm(request.POST, upload_files(request), servers=servers, upload_error=upload_error(request))
    if form.is_valid():
        try:
            ticket = services.ticket_create(
                user=request.user,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                server=form.cleaned_data["server"],
                files=[item.file for item in form.cleaned_data["attachments"]],
            )
        except (AttachmentRefused, services.TicketError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Ticket #{ticket.pk} opened. We will email you when we reply.")
            return redirect("support:detail", ticket.pk)
    return render(request, "support/new.html", {"form": form}, status=400)


@login_required
@require_GET
def ticket_detail(request, pk):
    return render_detail(request, pk, ReplyForm())


@login_required
@require_POST
@with_upload_limits
def ticket_reply(request, pk):
    ticket = get_object_or_404(selectors.tickets_for_user(request.user), pk=pk)
    form = ReplyForm(request.POST, upload_files(request), upload_error=upload_error(request))
    if form.is_valid():
        try:
            services.message_add(
                ticket=ticket,
                author=request.user,
                body=form.cleaned_data["body"],
                files=[item.file for item in form.cleaned_data["attachments"]],
            )
        except (AttachmentRefused, services.TicketError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Reply sent.")
            return redirect("support:detail", ticket.pk)
    return render_detail(request, pk, form, status=400)


@login_required
@require_POST
def ticket_close(request, pk):
    ticket = get_object_or_404(selectors.tickets_for_user(request.user), pk=pk)
    services.ticket_close(ticket=ticket, actor=request.user)
    messages.success(request, "Ticket closed. You can reopen it at any time.")
    return redirect("support:detail", pk)


@login_required
@require_POST
def ticket_reopen(request, pk):
    ticket = get_object_or_404(selectors.tickets_for_user(request.user), pk=pk)
    services.ticket_reopen(ticket=ticket, actor=request.user)
    messages.success(request, "Ticket reopened.")
    return redirect("support:detail", pk)


def render_detail(request, pk, form, status=200):
    try:
        # Customer pages show the customer's own thread, never internal notes, even to staff.
        ticket = selectors.ticket_with_thread(selectors.tickets_for_user(request.user), pk)
    except Ticket.DoesNotExist as exc:
        raise Http404("No such ticket.") from exc
    thread = [message for message in ticket.thread if not message.is_internal]
    context = {"ticket": ticket, "thread": thread, "form": form, "closed": ticket.status == Ticket.Status.CLOSED}
    return render(request, "support/detail.html", context, status=status)


@login_or_token_required  # its URL is in the API's ticket answers
@require_GET
def attachment_download(request, pk):
    """The only way an attachment leaves the server: its owner (not internal notes), or
    staff with the permissions for it in a session that passed the second factor (the
    admin's links). An API token acts as a customer, staff's included. Else 404."""
    as_staff = request.auth is None and (
        not second_factor_required(request.user) or request.user.is_verified()
    )
    try:
        attachment = selectors.attachment_for_download(request.user, pk, as_staff=as_staff)
    except TicketAttachment.DoesNotExist as exc:
        raise Http404("No such attachment.") from exc
    content_type = attachment.content_type + ("; charset=utf-8" if attachment.content_type == "text/plain" else "")
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
