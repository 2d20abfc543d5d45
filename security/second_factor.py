"""Staff second factor (django-otp): TOTP devices (RFC 6238, 6 digits, 30 s) and
single-use recovery codes. Staff pass it after their password before any /admin/ page
(StaffSecondFactorMiddleware), and once more, fresh, right before an action that moves
money or machines (`second_factor_fresh`)."""

import base64

import segno
from django import forms
from django.conf import settings
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
# A form field name any dangerous-action form can carry (templates/security/_second_factor_field.html).
CODE_FIELD = "otp_code"


def second_factor_required(user) -> bool:
    """STAFF_2FA_REQUIRED applies to staff; customers sign in with a password only."""
    return bool(settings.STAFF_2FA_REQUIRED and user.is_authenticated and user.is_staff)


def totp_device(user, *, confirmed=True):
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-pk").first()


def totp_secret(device) -> str:
    """The device's key in base32, as authenticator apps take it typed in."""
    return base64.b32encode(device.bin_key).decode()


def totp_qr_svg(device) -> str:
    """The otpauth:// URI as an inline SVG QR code."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)


def totp_enrolment_start(user) -> TOTPDevice:
    """The unconfirmed device being enrolled: kept while the user scans and types a
    first code, so reloading the page shows the same secret."""
    device = totp_device(user, confirmed=False)
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(request, device, code) -> list[str] | None:
    """Confirm `device` with a first valid code: it replaces the user's other TOTP
    devices, the session counts as verified with it, and a fresh set of recovery codes
    is made. Returns the recovery codes (shown once), or None for a wrong code."""
    if not device.verify_token(code):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    return recovery_codes_replace(device.user)


def totp_device_replace(user) -> TOTPDevice:
    """A new confirmed device for a lost phone (`staff_totp`): the old ones stop working."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app (staff_totp)", confirmed=True)


def recovery_codes_replace(user) -> list[str]:
    """New single-use recovery codes, returned to be shown this once; the old ones stop
    working. Each works once (django-otp deletes a code when it is used)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_verify(user, code):
    """The device that accepts `code` (a current TOTP code not used before, or an unused
    recovery code, which is then spent), or None. Throttled per device by django-otp."""
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice):
            for device in model.objects.select_for_update().filter(user=user, confirmed=True):
                if device.verify_token(code):
                    return device
    return None


def second_factor_fresh(request, code) -> bool:
    """For a dangerous staff action (a refund, a termination, a recovery run): True when
    `code` is a fresh second-factor code of request.user, checked now, whatever the
    session already proved. Always True where STAFF_2FA_REQUIRED does not apply (a
    development portal), so the same view works there without a device."""
    if not second_factor_required(request.user):
        return True
    return second_factor_verify(request.user, code) is not None


class SecondFactorForm(forms.Form):
    otp_code = forms.CharField(
        label="Authentication code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
    )
