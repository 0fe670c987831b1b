from django.urls import path, re_path

from portal_auth.doors.api_redirect import views

urlpatterns = [
    path("redirect/continue/", views.sign_in_redirect_continue, name="sign_in_redirect_continue"),
    path("redirect/expired/", views.sign_in_redirect_expired, name="sign_in_redirect_expired"),
    # A missing or stray slash must not make a 404, whose log line would carry the token.
    re_path(r"^redirect/(?P<token>[^/]+)(?:/.*)?$", views.sign_in_redirect, name="sign_in_redirect"),
]
