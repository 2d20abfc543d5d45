from django.urls import path

from . import views

app_name = "support"
urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/close/", views.ticket_close, name="close"),
    path("<int:pk>/reopen/", views.ticket_reopen, name="reopen"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
