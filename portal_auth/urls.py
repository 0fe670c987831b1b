from django.urls import path, re_path

from portal_auth.doors.access_link import views as access_link_views
from portal_auth.doors.access_link.services import PORTAL_DOOR
from portal_auth.doors.external_sign_on import views as external_sign_on_views
from portal_auth.doors.password import views

app_name = "portal_auth"

door = {"door": PORTAL_DOOR}

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
    # The link in a notification email, where the organisation lets it sign in (see notification_link_make).
    path("link/open/", access_link_views.link_confirm, door, name="sign_in_link_open"),
    path("link/new/", access_link_views.link_refused, door, name="sign_in_link_refused"),
    path("link/new/sent/", access_link_views.link_sent, door, name="sign_in_link_sent"),
    re_path(r"^link/(?P<token>[^/]+)(?:/.*)?$", access_link_views.open_link, door, name="sign_in_link"),
]
