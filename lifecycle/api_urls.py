from django.urls import path

from . import api

urlpatterns = [
    path("servers/<int:pk>/renew/", api.ServerRenewView.as_view(), name="api-server-renew"),
    path("servers/<int:pk>/cancellation/", api.ServerCancellationView.as_view(), name="api-server-cancellation"),
    path("servers/<int:pk>/autopay/", api.ServerAutopayView.as_view(), name="api-server-autopay"),
    path("servers/<int:pk>/plan-change/", api.ServerPlanChangeView.as_view(), name="api-server-plan-change"),
]
