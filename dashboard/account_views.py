from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.emails import account_mail_queue
from accounts.forms import ApiTokenForm, SignupForm
from accounts.services import password_changed
from accounts.tokens import token_issue, token_revoke, tokens_for_user
from affiliates.services import REFERRAL_COOKIE, referral_attribute
from billing.forms import BillingDetailsForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            referral_attribute(user, request.COOKIES.get(REFERRAL_COOKIE))
            account_mail_queue("welcome", user, cause="signup")
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
    return {"form": form, "api_tokens": tokens_for_user(request.user)[:3]}


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """The caller's API tokens. A new key is shown in the answer to the POST that made it,
    and never again (it is not stored, nor put in the session or a message cookie)."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "tokens": tokens_for_user(request.user), "new_key": None}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/tokens.html", context, status=400)
        token, context["new_key"] = token_issue(request.user, name=form.cleaned_data["name"])
        context["new_token"] = token
        response = render(request, "accounts/tokens.html", context)
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def api_token_revoke(request, token_id):
    """Delete one of the caller's tokens: requests using it are refused (401) from now on."""
    if not token_revoke(request.user, token_id):
        raise Http404("No such token.")
    messages.success(request, "The token is revoked. Programs using it can no longer sign in.")
    return redirect("api-tokens")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, plus a notice to the owner. Every other session of the account ends
    (Django keys sessions to the password hash), this one stays signed in, and every API token is revoked."""

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            password_changed(form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset is a password change too: the same notice, every session ends and every API token is revoked."""

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            password_changed(form.user)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """The reset mail names the portal and links to SITE_URL, not whatever Host header
    the request came with (which an attacker could choose, to collect reset links)."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        return {"portal_name": settings.PORTAL_NAME, "site_url": settings.SITE_URL}
