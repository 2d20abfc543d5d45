from django.urls import path

from . import api

urlpatterns = [
    path("servers/", api.ServerListView.as_view(), name="api-servers"),
    path("servers/<int:pk>/", api.ServerDetailView.as_view(), name="api-server"),
]
