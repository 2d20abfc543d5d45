from django.urls import path

from . import server_views as views

app_name = "servers"
urlpatterns = [
    path("", views.server_list, name="list"),
    path("<int:pk>/", views.server_detail, name="detail"),
    path("<int:pk>/status/", views.server_status, name="status"),
    path("<int:pk>/actions/", views.server_action, name="action"),
    path("<int:pk>/ssh-keys/", views.server_key_install, name="key-install"),
]
