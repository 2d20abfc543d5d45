from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("plans/", views.plans, name="plans"),
]
