from django.urls import path

from portal_auth.doors.email_code import views

urlpatterns = [
    path("code/", views.code_request, name="sign_in_code_request"),
    path("code/enter/", views.code_enter, name="sign_in_code_enter"),
]
