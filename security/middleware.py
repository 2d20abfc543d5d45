from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from .second_factor import second_factor_required, totp_device

# Reached before the second factor: signing in with the password, and leaving.
EXEMPT_PATHS = ("/admin/login/", "/admin/logout/")


class StaffSecondFactorMiddleware:
    """Every /admin/ page (the staff dashboards included) needs a session verified with a
    second factor when STAFF_2FA_REQUIRED applies; a staff user without a device is sent
    to enrol one. Installed after django-otp's OTPMiddleware, which sets is_verified()."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.path.startswith("/admin/")
            and not request.path.startswith(EXEMPT_PATHS)
            and second_factor_required(request.user)
            and not request.user.is_verified()
        ):
            step = "security:verify" if totp_device(request.user) else "security:setup"
            return redirect_to_login(request.get_full_path(), reverse(step))
        return self.get_response(request)


class PrivatePagesNoStoreMiddleware:
    """A signed-in customer's pages show money state (what to pay, what is paid): the
    browser must ask again rather than show a kept copy. Without this, Back to /home/
    after paying still listed the paid order under "To pay". Applies to HTML pages of
    signed-in users that set no caching of their own; the API and static files are untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.get("Content-Type", "").startswith("text/html")
            and not response.has_header("Cache-Control")
            and request.user.is_authenticated
        ):
            add_never_cache_headers(response)
        return response
