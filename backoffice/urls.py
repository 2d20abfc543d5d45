"""Included at /admin/ before admin.site.urls; every view goes through admin_view."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("customers/<int:user_id>/", admin.site.admin_view(views.customer), name="customer"),
    path("invoices/<str:number>/", admin.site.admin_view(views.staff_order_invoice), name="invoice"),
    # The affiliate admin's payout page, at the URL it always had (the admin links it by this name).
    path("affiliates/affiliate/<int:user_id>/payout/", admin.site.admin_view(views.affiliate_payout), name="payout"),
    path("credit-notes/<int:note_id>/", admin.site.admin_view(views.staff_credit_note), name="credit-note"),
    path("actions/<str:model_name>/<int:pk>/<slug:key>/", admin.site.admin_view(views.staff_action), name="action"),
    path(
        "actions/<str:model_name>/selected/<slug:key>/",
        admin.site.admin_view(views.staff_list_action),
        name="list-action",
    ),
]
