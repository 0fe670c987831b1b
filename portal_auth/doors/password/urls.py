from django.urls import path, re_path

from portal_auth.doors.password import views

urlpatterns = [
    path("password/", views.password_request, name="password_request"),
    path("password/sent/", views.password_link_sent, name="password_link_sent"),
    # A missing or stray slash must not make a 404, whose log line would carry the token.
    re_path(r"^password/link/(?P<token>[^/]+)(?:/.*)?$", views.password_link, name="password_link"),
    path("password/set/", views.password_set, name="password_set"),
]
