"""REST API v1: each app contributes its own routes."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api_errors import api_not_found

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("servers.api_urls")),
    path("", include("lifecycle.api_urls")),
    path("", include("support.api_urls")),
    path("", include("affiliates.api_urls")),
    path("", include("sshkeys.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other /api/v1/ path answers a JSON 404, not Django's HTML page. (This also
    # means no APPEND_SLASH redirect here, which a POST could not follow anyway.)
    re_path(r"", api_not_found),
]
