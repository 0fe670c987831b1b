from django.contrib import admin
from django.urls import include, path

from portal_project import views

admin.site.site_header = "Customer portal administration"
admin.site.site_title = "Customer portal admin"
admin.site.index_title = "Bookings, tickets, conversations and the customers who reach them"
handler500 = views.server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("<slug:org>/", views.portal_home, name="portal_home"),
    path("<slug:org>/", include("portal_auth.urls")),
    path("<slug:org>/bookings/", include("bookings.urls")),
    path("<slug:org>/support/", include("tickets.urls")),
    path("<slug:org>/conversations/", include("conversations.urls")),
]
