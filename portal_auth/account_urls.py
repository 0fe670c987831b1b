"""The customer's access pages, under their profile: /<org>/profile/access/."""

from django.urls import path

from portal_auth import account_views as views

app_name = "account"

urlpatterns = [
    path("", views.access_list, name="recent_access"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/end/", views.session_end_post, name="session_end"),
    path("sessions/sign-out-everywhere/", views.sign_out_everywhere_post, name="sign_out_everywhere"),
]
