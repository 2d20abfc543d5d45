from django.urls import path

from . import api

urlpatterns = [
    path("ssh-keys/", api.SSHKeyListCreateView.as_view(), name="api-ssh-keys"),
    path("ssh-keys/<int:pk>/", api.SSHKeyDetailView.as_view(), name="api-ssh-key"),
]
