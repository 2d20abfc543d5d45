from rest_framework import generics

from . import selectors
from .serializers import ServerSerializer


class ServerListView(generics.ListAPIView):
    serializer_class = ServerSerializer

    def get_queryset(self):
        servers = selectors.servers_for_user(self.request.user)
        if status := self.request.query_params.get("status"):
            servers = servers.filter(status=status)
        return servers


class ServerDetailView(generics.RetrieveAPIView):
    serializer_class = ServerSerializer

    def get_queryset(self):
        return selectors.servers_for_user(self.request.user)
