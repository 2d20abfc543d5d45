from django.urls import path

from . import api

urlpatterns = [
    path("plans/", api.PlanListView.as_view(), name="api-plans"),
    path("orders/", api.OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<str:number>/", api.OrderDetailView.as_view(), name="api-order"),
    path("payments/verify/", api.PaymentVerifyView.as_view(), name="api-payment-verify"),
]
