from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from affiliates.services import REFERRAL_COOKIE, referral_attribute
from billing.forms import BillingDetailsForm

from .forms import SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        referral_attribute(user, request.COOKIES.get(REFERRAL_COOKIE))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        next_url = request.GET.get("next", "")
        # Only our own pages: an unchecked `next` would be an open redirect.
        if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
            response = redirect(next_url)
        else:
            response = redirect("billing:plans")
        response.delete_cookie(REFERRAL_COOKIE, samesite="Lax")  # used up: it referred this sign-up
        return response
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """Billing details printed on future invoices; past invoices keep their snapshot."""
    form = BillingDetailsForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your billing details are saved. They apply to your next orders.")
            return redirect("profile")
        return render(request, "accounts/profile.html", profile_context(request, form), status=400)
    return render(request, "accounts/profile.html", profile_context(request, form))


def profile_context(request, form):
    return {"form": form, "api_token": Token.objects.filter(user=request.user).first()}


@login_required
@require_POST
def api_token_create(request):
    """The caller's API token: the existing one, or a new one (the same as POST /api/v1/auth/token/)."""
    Token.objects.get_or_create(user=request.user)
    messages.success(request, "Your API token is ready. Send it as “Authorization: Token <key>”.")
    return redirect("profile")


@login_required
@require_POST
def api_token_revoke(request):
    """Delete the caller's API token: requests using it are refused (401) from now on."""
    deleted, _ = Token.objects.filter(user=request.user).delete()
    if deleted:
        messages.success(request, "Your API token is revoked. Programs using it can no longer sign in.")
    return redirect("profile")
