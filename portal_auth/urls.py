from django.urls import include, path

from portal_auth import session_views as views
from portal_auth.doors.registry import DOORS
from portal_auth.theme_views import portal_image, theme_stylesheet

app_name = "portal_auth"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("theme.css", theme_stylesheet, name="theme"),
    path("logo", portal_image, {"image": "logo"}, name="logo"),
    path("favicon", portal_image, {"image": "favicon"}, name="favicon"),
    # Each door's own pages, named in this namespace; a closed door's answer 404 (doors.registry.door_required).
    *(path("", include(door.urls)) for door in DOORS),
]
