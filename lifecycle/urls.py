from django.urls import path

from . import views

app_name = "lifecycle"
urlpatterns = [
    path("servers/<int:pk>/renew/", views.server_renew, name="renew"),
    path("servers/<int:pk>/cancellation/", views.server_cancellation, name="cancellation"),
    path("servers/<int:pk>/plan-change/", views.server_plan_change, name="plan-change"),
    path("servers/<int:pk>/plan-change/cancel/", views.server_plan_change_cancel, name="plan-change-cancel"),
    path("servers/<int:pk>/autopay/off/", views.server_autopay_off, name="autopay-off"),
]
