from django.urls import path, re_path

from portal_auth.doors.access_link import views
from portal_auth.doors.access_link.services import PORTAL_DOOR

door = {"door": PORTAL_DOOR}

# The link in a notification email, where the organisation lets it sign in (see notification_link_make), and
# the links customers ask for from the sign-in page.
urlpatterns = [
    path("link/open/", views.link_confirm, door, name="sign_in_link_open"),
    path("link/request/", views.link_refused, {**door, "refused": False}, name="sign_in_link_request"),
    path("link/new/", views.link_refused, door, name="sign_in_link_refused"),
    path("link/new/sent/", views.link_sent, door, name="sign_in_link_sent"),
    re_path(r"^link/(?P<token>[^/]+)(?:/.*)?$", views.open_link, door, name="sign_in_link"),
]
