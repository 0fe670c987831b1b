from django.urls import path, re_path

from portal_auth import external_sign_on_views, views

app_name = "portal_auth"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("password/", views.password_request, name="password_request"),
    path("password/sent/", views.password_link_sent, name="password_link_sent"),
    # A missing or stray slash must not make a 404, whose log line would carry the token.
    re_path(r"^password/link/(?P<token>[^/]+)(?:/.*)?$", views.password_link, name="password_link"),
    path("password/set/", views.password_set, name="password_set"),
    path("sign-in/external/", external_sign_on_views.external_sign_on_callback, name="external_sign_on"),
    path("sign-in/external/start/", external_sign_on_views.external_sign_on_start, name="external_sign_on_start"),
]
