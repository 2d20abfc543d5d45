from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from hostingportal.health import healthz
from payments.webhook_view import razorpay_webhook

FAVICON = (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request):
    """Browsers ask for /favicon.ico on every page whatever the page links."""
    return HttpResponse(FAVICON, content_type="image/x-icon")


def server_error(request):
    """An unexpected failure: the API's error shape under /api/ (integrators parse JSON), the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side; try again shortly."}, status=500)
    return defaults.server_error(request)


handler500 = server_error

urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", include("dashboard.urls")),
    path("healthz", healthz, name="healthz"),
    # Staff dashboards inside the admin; listed before admin.site.urls so they win.
    path("admin/", include("ops.urls")),
    path("admin/", include("backoffice.urls")),
    path("admin/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("webhooks/razorpay/", razorpay_webhook, name="razorpay-webhook"),
    path("accounts/2fa/", include("security.urls")),
    path("accounts/ssh-keys/", include("sshkeys.urls")),
    path("accounts/", include("dashboard.account_urls")),
    path("api/v1/", include("hostingportal.api_urls")),
    path("", include("payments.urls")),
    path("servers/", include("dashboard.server_urls")),
    path("", include("lifecycle.urls")),
    path("support/", include("support.urls")),
    path("", include("affiliates.urls")),
]
