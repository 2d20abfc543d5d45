from django.urls import path

from . import api

urlpatterns = [
    path("tickets/", api.TicketListCreateView.as_view(), name="api-tickets"),
    path("tickets/<int:pk>/", api.TicketDetailView.as_view(), name="api-ticket"),
    path("tickets/<int:pk>/messages/", api.TicketMessageCreateView.as_view(), name="api-ticket-messages"),
]
