from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("profile/api-token/", views.api_token_create, name="api-token-create"),
    path("profile/api-token/revoke/", views.api_token_revoke, name="api-token-revoke"),
    # login/, logout/, password_change/, password_reset/ and friends.
    path("", include("django.contrib.auth.urls")),
]
