from django.urls import path

from .api import TokenIssueView

urlpatterns = [path("auth/token/", TokenIssueView.as_view(), name="api-token")]
