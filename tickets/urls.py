from django.urls import path, re_path

from portal_auth.doors.access_link import views as access_link_views
from portal_auth.doors.access_link.services import AccessLinkDoor
from tickets import views

app_name = "tickets"

# The access-link door as the ticket portal uses it: emailed links open a ticket, refused ones offer a new link.
SUPPORT_DOOR = AccessLinkDoor(
    link_route="tickets:portal_link",
    confirm_route="tickets:portal_open",
    refused_route="tickets:link_refused",
    sent_route="tickets:link_sent",
    landing_route="tickets:list",
    email_template="tickets/emails/portal_link_requested",
    email_source="tickets.selectors.email_has_tickets",
    what="support tickets",
)
door = {"door": SUPPORT_DOOR}

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("<int:number>/", views.ticket_detail, name="detail"),
    path("<int:number>/reply/", views.ticket_reply_post, name="reply"),
    path("<int:number>/solve/", views.ticket_solve, name="solve"),
    path("<int:number>/created/", views.ticket_created, name="created"),
    path("<int:number>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("portal/open/", access_link_views.link_confirm, door, name="portal_open"),
    path("portal/new-link/", access_link_views.link_refused, door, name="link_refused"),
    path("portal/new-link/sent/", access_link_views.link_sent, door, name="link_sent"),
    # The emailed link itself; it always redirects, to a URL without the token (portal/open/ to use it).
    # A stray slash or suffix must not make a 404, whose log line would carry the token.
    re_path(r"^portal/(?P<token>[^/]+)(?:/.*)?$", access_link_views.open_link, door, name="portal_link"),
]
