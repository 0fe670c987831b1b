from django.urls import path

from portal_auth import external_sign_on_views, views

app_name = "portal_auth"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("password/", views.password_request, name="password_request"),
    path("password/sent/", views.password_link_sent, name="password_link_sent"),
    path("password/link/<str:token>/", views.password_link, name="password_link"),
    path("password/set/", views.password_set, name="password_set"),
    path("sign-in/external/", external_sign_on_views.external_sign_on_callback, name="external_sign_on"),
    path("sign-in/external/start/", external_sign_on_views.external_sign_on_start, name="external_sign_on_start"),
]
