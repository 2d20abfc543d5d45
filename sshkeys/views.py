from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import SSHKeyForm
from .parsing import InvalidSSHKey


@login_required
@require_http_methods(["GET", "POST"])
def ssh_key_list(request):
    """The customer's SSH keys, with the form to add one."""
    form = SSHKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = services.ssh_key_add(request.user, **form.cleaned_data)
        except InvalidSSHKey as exc:
            form.add_error("public_key", str(exc))
        else:
            messages.success(request, f"Key “{key.name}” added ({key.fingerprint}).")
            return redirect("sshkeys:list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "keys": selectors.ssh_keys_for_user(request.user)}
    return render(request, "sshkeys/list.html", context, status=status)


@login_required
@require_POST
def ssh_key_delete(request, pk):
    if not services.ssh_key_delete(request.user, pk):
        raise Http404("No such SSH key.")
    messages.success(request, "Key deleted. Servers it was installed on keep it until you remove it there.")
    return redirect("sshkeys:list")
