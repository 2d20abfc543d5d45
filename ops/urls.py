"""Included at /admin/ before admin.site.urls; every view goes through admin_view."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("orphaned-orders/", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("orphaned-orders/recover/", admin.site.admin_view(views.recover_orders), name="recover"),
    path(
        "orphaned-orders/servers/<int:server_id>/retry/",
        admin.site.admin_view(views.retry_provisioning),
        name="retry-provisioning",
    ),
    path(
        "orphaned-orders/payments/<str:payment_id>/refund/",
        admin.site.admin_view(views.refund_payment),
        name="refund",
    ),
    path("orphaned-orders/orders/<str:number>/handled/", admin.site.admin_view(views.mark_handled), name="handled"),
]
