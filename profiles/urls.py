from django.urls import path, re_path

from profiles import views

app_name = "profile"

urlpatterns = [
    path("", views.profile_detail, name="detail"),
    path("email/", views.email_change, name="email_change"),
    path("email/sent/", views.email_change_sent, name="email_sent"),
    path("email/cancel/", views.email_cancel, name="email_cancel"),
    path("email/confirm/", views.email_confirm, name="email_confirm"),
    # A missing or stray slash must not make a 404, whose log line would carry the token.
    re_path(r"^email/link/(?P<token>[^/]+)(?:/.*)?$", views.email_link, name="email_link"),
]
