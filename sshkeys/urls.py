from django.urls import path

from . import views

app_name = "sshkeys"
urlpatterns = [
    path("", views.ssh_key_list, name="list"),
    path("<int:pk>/delete/", views.ssh_key_delete, name="delete"),
]
