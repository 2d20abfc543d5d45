"""Staff second-factor pages: enrol an authenticator app, pass the check, renew recovery codes."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from .second_factor import (
    SecondFactorForm,
    recovery_codes_replace,
    second_factor_verify,
    totp_device,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret,
)


def staff_only(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def step_url(name, next_url):
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def next_url(request):
    target = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "/admin/"


@staff_only
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step of a staff sign-in: a code from the app, or a recovery code."""
    if totp_device(request.user) is None:
        return redirect(step_url("security:setup", next_url(request)))
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = second_factor_verify(request.user, form.cleaned_data["otp_code"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(request, f"You used a recovery code; {left} left. Renew them on the 2FA page.")
            return redirect(next_url(request))
        form.add_error("otp_code", "That code is wrong, was already used, or came too soon after a wrong one.")
    status = 400 if form.errors else 200
    return render(request, "security/verify.html", {"form": form, "next": next_url(request)}, status=status)


@staff_only
@require_http_methods(["GET", "POST"])
def setup(request):
    """Enrol an authenticator app: a QR code and the secret as text, then a first code.
    A staff user who already has a device must pass it first to replace it."""
    if totp_device(request.user) is not None and not request.user.is_verified():
        return redirect(step_url("security:verify", request.path))
    device = totp_enrolment_start(request.user)
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = totp_enrolment_confirm(request, device, form.cleaned_data["otp_code"])
        if codes is not None:
            response = render(request, "security/recovery_codes.html", {"codes": codes, "next": next_url(request)})
            response["Cache-Control"] = "no-store"
            return response
        form.add_error("otp_code", "That code does not match. Check the phone's clock and type the newest code.")
    context = {
        "form": form,
        "qr_svg": totp_qr_svg(device),
        "secret": totp_secret(device),
        "otpauth_uri": device.config_url,
        "next": next_url(request),
    }
    response = render(request, "security/setup.html", context, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@staff_only
@require_http_methods(["POST"])
def recovery_codes(request):
    """New recovery codes (the old ones stop working), after a fresh code from the app."""
    form = SecondFactorForm(request.POST)
    if form.is_valid() and second_factor_verify(request.user, form.cleaned_data["otp_code"]) is not None:
        response = render(request, "security/recovery_codes.html", {"codes": recovery_codes_replace(request.user)})
        response["Cache-Control"] = "no-store"
        return response
    messages.error(request, "Recovery codes not renewed: the code was wrong.")
    return redirect("security:verify")
