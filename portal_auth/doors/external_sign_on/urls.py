from django.urls import path

from portal_auth.doors.external_sign_on import views

urlpatterns = [
    path("sign-in/external/", views.external_sign_on_callback, name="external_sign_on"),
    path("sign-in/external/start/", views.external_sign_on_start, name="external_sign_on_start"),
    path("sign-in/external/return/<str:state>/", views.external_sign_on_callback, name="external_sign_on_return"),
]
