"""Included at /admin/ before admin.site.urls; every view goes through admin_view."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("reports/", admin.site.admin_view(views.index), name="index"),
    path("reports/<slug:key>.csv", admin.site.admin_view(views.report_csv), name="csv"),
    path("reports/gst/", admin.site.admin_view(views.gst_latest), name="gst-latest"),
    path("reports/gst/<str:month>/", admin.site.admin_view(views.gst_month), name="gst-month"),
    path("reports/gst/<str:month>/gstr1.json", admin.site.admin_view(views.gst_month_json), name="gst-month-json"),
]
