from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from hostingportal.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="billing:plans", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("hostingportal.api_urls")),
    path("", include("billing.urls")),
    path("servers/", include("servers.urls")),
    path("support/", include("support.urls")),
]
