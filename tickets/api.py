"""The tickets API: email a ticket's requester a fresh portal link (the API way of sending links)."""

from ninja import Router, Schema, Status

from portal_auth.doors.access_link.services import AccessLinksClosed, CustomerDeactivated
from portal_auth.models import ApiKey
from portal_core.api import ERRORS, ApiError, ErrorOut
from portal_core.origin import ClientOrigin
from tickets.models import Ticket
from tickets.services import ticket_portal_link_send

router = Router(tags=["tickets"])


class PortalLinkSentOut(Schema):
    ticket: int
    sent_to: str


@router.post(
    "/tickets/{number}/portal-links",
    response={202: PortalLinkSentOut, **ERRORS, 409: ErrorOut},
    summary="Email a ticket's requester a portal link",
)
def ticket_portal_link(request, number: int):
    """Emails the requester a fresh link that signs them in and opens the ticket; sent after the answer."""
    key: ApiKey = request.auth
    ticket = (
        Ticket.objects.select_related("requester__organisation", "organisation")
        .filter(organisation=key.organisation, number=number)
        .first()
        if 0 < number < 2**31
        else None
    )
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "This organisation has no ticket with that number.")
    try:
        ticket_portal_link_send(ticket=ticket, origin=ClientOrigin.from_request(request))
    except AccessLinksClosed as closed:
        raise ApiError(409, "door_closed", str(closed)) from None
    except CustomerDeactivated as refused:
        raise ApiError(409, "customer_inactive", str(refused)) from None
    return Status(202, PortalLinkSentOut(ticket=ticket.number, sent_to=ticket.requester.email))
