from django.urls import path

from conversations import views

app_name = "conversations"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("<int:pk>/", views.conversation_detail, name="detail"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
