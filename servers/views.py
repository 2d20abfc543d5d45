from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import selectors
from .models import ServerStatus

# What a customer can expect next, shown greyed below the history while it is still to come.
UPCOMING = {
    ServerStatus.PENDING: [ServerStatus.PROVISIONING, ServerStatus.ACTIVE],
    ServerStatus.PROVISIONING: [ServerStatus.ACTIVE],
}
IN_PROGRESS = (ServerStatus.PENDING, ServerStatus.PROVISIONING)


@login_required
@require_GET
def server_list(request):
    page = Paginator(selectors.servers_for_user(request.user), 25).get_page(request.GET.get("page"))
    return render(request, "servers/list.html", {"page": page, "now": timezone.now()})


@login_required
@require_GET
def server_detail(request, pk):
    return render(request, "servers/detail.html", server_status_context(request, pk))


@login_required
@require_GET
def server_status(request, pk):
    """The live part of the detail page, polled by htmx while the server is being set up."""
    return render(request, "servers/_status.html", server_status_context(request, pk))


def server_status_context(request, pk):
    from lifecycle.selectors import server_subscription, server_timeline  # lifecycle builds on servers

    server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
    # Status-change notes stay out: they can hold provider errors meant for staff, not customers.
    timeline = [{**entry, "status": entry["kind"]} for entry in server_timeline(server)]
    upcoming = [{"status": status, "label": status.label} for status in UPCOMING.get(server.status, [])]
    return {
        "server": server,
        "timeline": timeline,
        "upcoming": upcoming,
        "polling": server.status in IN_PROGRESS,
        "subscription": server_subscription(server),
    }
