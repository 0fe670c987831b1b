from django.contrib import admin
from django.urls import include, path, re_path

from portal_project import views
from portal_project.api import api, no_such_route

admin.site.site_header = "Customer portal administration"
admin.site.site_title = "Customer portal admin"
admin.site.index_title = "Bookings, tickets, conversations and the customers who reach them"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", no_such_route),
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("<slug:org>/", views.portal_home, name="portal_home"),
    path("<slug:org>/profile/access/", include("portal_auth.account_urls")),
    path("<slug:org>/bookings/", include("bookings.urls")),
    path("<slug:org>/support/", include("tickets.urls")),
    path("<slug:org>/conversations/", include("conversations.urls")),
    path("<slug:org>/billing/", include("billing.urls")),
    path("<slug:org>/policies/", include("policies.urls")),
    path("<slug:org>/profile/", include("profiles.urls")),
    # After the sections, the pages most visited, which are then found in fewer tries: no address of the sign-in
    # doors starts as a section's does.
    path("<slug:org>/", include("portal_auth.urls")),
]

handler500 = "portal_project.views.server_error"
