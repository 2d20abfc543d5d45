from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lifecycle.selectors import server_subscription, server_timeline
from servers import selectors
from servers.models import ServerStatus
from servers.power import ACTION_LABELS, POWER_ACTIONS, PowerActionRefused, power_in_flight, power_request
from servers.ssh_keys import KeyInstallRefused, key_install_refusal, key_install_request, keys_installable
from sshkeys.selectors import ssh_keys_for_user

# What a customer can expect next, shown greyed below the history while it is still to come.
UPCOMING = {
    ServerStatus.PENDING: [ServerStatus.PROVISIONING, ServerStatus.ACTIVE],
    ServerStatus.PROVISIONING: [ServerStatus.ACTIVE],
}
IN_PROGRESS = (ServerStatus.PENDING, ServerStatus.PROVISIONING)
# Power actions that interrupt running work are asked once more, saying what happens
# (a stray click stopped a customer's server); starting a stopped server is not.
CONFIRM_FIRST = {
    "stop": "Stopping shuts the server down. Programs running on it end and anything they held only in memory "
    "is lost; files on its disk are kept. It stays stopped, and billed, until you start it again from this page.",
    "reboot": "Rebooting restarts the server. Programs running on it are stopped and started again, and "
    "connections to it drop for a minute or two; files on its disk are kept.",
}


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
    """The live part of the detail page, polled by htmx while the server is being set up.
    The billing card rides along out of band, so its Renew and Cancel controls appear
    the moment the server turns active (they appeared only after a manual reload)."""
    context = {**server_status_context(request, pk), "out_of_band": True}
    return render(request, "servers/status_poll.html", context)


def server_status_context(request, pk):
    server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
    # Status-change notes stay out: they can hold provider errors meant for staff, not customers.
    timeline = [{**entry, "status": entry["kind"]} for entry in server_timeline(server)]
    upcoming = [{"status": status, "label": status.label} for status in UPCOMING.get(server.status, [])]
    in_flight = power_in_flight(server) if server.status == server.Status.ACTIVE else None
    return {
        "server": server,
        "timeline": timeline,
        "upcoming": upcoming,
        "polling": server.status in IN_PROGRESS or in_flight is not None,
        "subscription": server_subscription(server),
        "power_actions": power_actions_offered(server),
        "in_flight": in_flight,
        "login": selectors.server_login(server) if server.status == server.Status.ACTIVE else None,
        **key_install_context(request, server),
    }


def key_install_context(request, server):
    """The customer's keys not yet on this active server, each with an "Install" button, or why none can be."""
    if server.status != server.Status.ACTIVE:
        return {}
    refusal = key_install_refusal(server)
    keys = [] if refusal else keys_installable(server, ssh_keys_for_user(request.user))
    return {"keys_installable": keys, "key_install_refusal": refusal}


def power_actions_offered(server):
    """The buttons that make sense now: reboot and stop a running server, start a stopped one."""
    if server.status != server.Status.ACTIVE:
        return []
    offered = ["start"] if server.power_state == server.PowerState.STOPPED else ["reboot", "stop"]
    return [{"action": action, "label": ACTION_LABELS[action]} for action in offered]


@login_required
@require_POST
def server_key_install(request, pk):
    """The server page's "Install" button next to each of the customer's keys; the same service as
    POST /api/v1/servers/<id>/ssh-keys/."""
    server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
    key = ssh_keys_for_user(request.user).filter(pk=request.POST.get("key") or 0).first()
    if key is None:
        messages.error(request, "That is not one of your SSH keys.")
        return redirect("servers:detail", pk=server.pk)
    try:
        key_install_request(server.pk, key=key, user=request.user, source="customer")
    except KeyInstallRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Installing “{key.name}”: it takes a moment; this page shows when it is done.")
    return redirect("servers:detail", pk=server.pk)


@login_required
@require_POST
def server_action(request, pk):
    """The server page's power buttons; the same service as POST /api/v1/servers/<id>/actions/."""
    server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
    action = request.POST.get("action", "")
    if action not in POWER_ACTIONS:
        messages.error(request, "Unknown action.")
        return redirect("servers:detail", pk=server.pk)
    if action in CONFIRM_FIRST and request.POST.get("confirmed") != "yes":
        context = {
            "server": server,
            "action": action,
            "label": ACTION_LABELS[action],
            "consequence": CONFIRM_FIRST[action],
        }
        return render(request, "servers/confirm_action.html", context)
    try:
        power_request(server.pk, action=action, user=request.user, source="customer")
    except PowerActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{ACTION_LABELS[action]} requested: it runs in a moment; this page shows when it is done."
        )
    return redirect("servers:detail", pk=server.pk)
