from django.urls import path

from bookings import views

app_name = "bookings"

urlpatterns = [
    path("", views.booking_list, name="list"),
    path("<str:reference>/", views.booking_detail, name="detail"),
    path("<str:reference>/add-ons/<int:add_on_id>/book/", views.add_on_book, name="add_on_book"),
    path("<str:reference>/add-ons/<int:add_on_id>/cancel/", views.add_on_cancel, name="add_on_cancel"),
    path("<str:reference>/documents/", views.document_upload, name="document_upload"),
    path("<str:reference>/documents/<int:pk>/", views.document_download, name="document_download"),
]
