from django.urls import path

from . import views

app_name = "affiliates"
urlpatterns = [
    path("r/<str:code>/", views.referral_link, name="referral-link"),
    path("affiliate/", views.affiliate_page, name="page"),
]
