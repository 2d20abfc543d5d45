from django.urls import path

from . import api

urlpatterns = [
    path("servers/", api.ServerListView.as_view(), name="api-servers"),
    path("servers/<int:pk>/", api.ServerDetailView.as_view(), name="api-server"),
    path("servers/<int:pk>/actions/", api.ServerActionView.as_view(), name="api-server-actions"),
    path("servers/<int:pk>/ssh-keys/", api.ServerSSHKeyView.as_view(), name="api-server-ssh-keys"),
]
