"""Included at /admin/ before admin.site.urls; every view goes through admin_view."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("reports/gst/<str:month>/", admin.site.admin_view(views.gst_month), name="gst-month"),
    path("reports/gst/<str:month>/gstr1.json", admin.site.admin_view(views.gst_month_json), name="gst-month-json"),
]
