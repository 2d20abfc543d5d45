from django.urls import path

from . import api

urlpatterns = [
    path("affiliate/", api.AffiliateView.as_view(), name="api-affiliate"),
]
