"""Writes of the tickets app: each atomic, each email recorded in the outbox inside its transaction."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from outbox.services import email_enqueue
from portal_auth.access_log import LookRefused
from portal_auth.doors.access_link.services import (
    AccessLinksClosed,
    CustomerDeactivated,
    PlannedLink,
    access_link_send,
    access_links_send,
    notification_link_make,
)
from portal_auth.models import Customer, CustomerToken, Organisation, Portal
from portal_auth.portals import customer_portal, portal_chooser, portal_path
from portal_core import page_cache
from portal_core.origin import ClientOrigin
from portal_core.sections import OptionalEmail
from portal_core.sent_once import create_once
from portal_core.staff_reply import ReplySentAlready
from portal_core.uploads import (
    CheckedUpload,
    files_removed_unless_committed,
    stored_upload_save,
)
from tickets.models import (
    Company,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketNumberCounter,
    TicketSettings,
    author_name_for,
)
from tickets.selectors import visible_tickets

LINK_ROUTE = "tickets:portal_link"
# The email of each public reply staff write; what the customer asked for themselves (a confirmation, a link)
# is always sent.
REPLY_EMAILS = OptionalEmail(
    key="ticket_replies",
    label="Replies to my support tickets",
    hint="An email with each answer from the team. The answers are always on the ticket's page.",
)
# Links written in one transaction by ticket_portal_links_send.
PORTAL_LINK_BATCH = 100


class TicketClosed(ValidationError):
    def __init__(self):
        super().__init__("This ticket is closed, so it can't take replies. Open a new ticket instead.", code="closed")


def ticket_path(ticket: Ticket, portal: Portal) -> str:
    return portal_path(portal, "tickets:detail", number=ticket.number)


def ticket_admin_url(ticket: Ticket) -> str:
    return settings.SITE_URL + reverse("admin:tickets_ticket_change", args=[ticket.pk])


@transaction.atomic
def ticket_number_take(*, organisation: Organisation) -> int:
    """The organisation's next ticket number. The counter stays locked until the caller's transaction ends,
    so a ticket that fails to be created gives its number back."""
    highest = Ticket.objects.filter(organisation=organisation).aggregate(n=Max("number"))["n"] or 0
    # Two first tickets at once: one insert waits for the other and get_or_create then finds its row.
    TicketNumberCounter.objects.get_or_create(organisation=organisation, defaults={"last_number": highest})
    counter = TicketNumberCounter.objects.select_for_update().get(organisation=organisation)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _attachments_save(message: TicketMessage, attachments: Sequence[CheckedUpload], written: list) -> None:
    for upload in attachments:
        stored_upload_save(
            upload=TicketAttachment(message=message), file=upload.file, kind=upload.kind, written=written
        )


def _customer_message(
    *, ticket: Ticket, customer: Customer, body: str, at: datetime, request_token: str = ""
) -> TicketMessage:
    return TicketMessage.objects.create(
        ticket=ticket,
        author_customer=customer,
        author_name=author_name_for(customer=customer),
        body=body,
        created_at=at,
        request_token=request_token,
    )


def _sent_before(customer: Customer, request_token: str) -> TicketMessage | None:
    """The message the same sending made already (portal_core/sent_once.py), if any."""
    if not request_token:
        return None
    return (
        TicketMessage.objects.select_related("ticket")
        .filter(author_customer=customer, request_token=request_token)
        .first()
    )


def _locked_for(customer: Customer, ticket: Ticket) -> Ticket:
    """The ticket, locked, if the customer may still see it; LookRefused (a 404) if staff deleted it or moved it
    away from them since the page checked."""
    locked = visible_tickets(customer).select_for_update(of=("self",)).filter(pk=ticket.pk).first()
    if locked is None:
        raise LookRefused(f"ticket {ticket.number}")
    return locked


def _company_of(customer: Customer) -> Company | None:
    companies = list(customer.ticket_companies.filter(organisation_id=customer.organisation_id)[:2])
    return companies[0] if len(companies) == 1 else None


def _notify_staff(ticket: Ticket, message: TicketMessage, *, template: str) -> None:
    """The assigned agent hears of it, or else (no agent, or one who has left) the organisation's support address,
    if it has one."""
    agent = ticket.assigned_agent
    to = agent.email if agent is not None and agent.is_active else ""
    to = to or ticket.organisation.support_email
    if not to:
        return
    email_enqueue(
        organisation=ticket.organisation,
        to=to,
        template=template,
        context={"ticket": ticket, "message": message, "admin_link": ticket_admin_url(ticket)},
    )


def ticket_create(
    *,
    customer: Customer,
    subject: str,
    priority: str,
    body: str,
    attachments: Sequence[CheckedUpload] = (),
    request_token: str = "",
) -> Ticket:
    """A customer opens a ticket from the portal: confirmed to them by email, announced to staff. The same sending
    again (`request_token`) answers with the ticket it opened."""
    with files_removed_unless_committed() as written, transaction.atomic():
        # A customer's sendings one at a time: a second of the same waits for the first, then finds its ticket.
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk"))
        if sent := _sent_before(customer, request_token):
            return sent.ticket
        organisation = customer.organisation
        ticket = Ticket.objects.create(
            organisation=organisation,
            number=ticket_number_take(organisation=organisation),
            requester=customer,
            company=_company_of(customer),
            subject=subject,
            priority=priority,
        )
        message = _customer_message(
            ticket=ticket, customer=customer, body=body, at=timezone.now(), request_token=request_token
        )
        _attachments_save(message, attachments, written)
        portal = customer_portal(customer, "tickets")
        link = notification_link_make(customer=customer, next_path=ticket_path(ticket, portal), link_route=LINK_ROUTE)
        email_enqueue(
            organisation=organisation,
            to=customer.email,
            template="tickets/emails/ticket_received",
            context={
                "ticket": ticket,
                "message": message,
                "customer": customer,
                "replies_by_email": customer.wants_email(REPLY_EMAILS),
                **link.context(),
            },
            secrets=link.secrets,
        )
        _notify_staff(ticket, message, template="tickets/emails/staff_new_ticket")
    return ticket


def ticket_reply(
    *,
    ticket: Ticket,
    customer: Customer,
    body: str,
    attachments: Sequence[CheckedUpload] = (),
    request_token: str = "",
) -> TicketMessage:
    """A customer's reply. A solved (or pending) ticket opens again; a closed one takes no more replies. The same
    sending again (`request_token`) answers with the reply it made."""
    with files_removed_unless_committed() as written, transaction.atomic():
        locked = _locked_for(customer, ticket)
        if sent := _sent_before(customer, request_token):
            return sent
        if locked.is_read_only:
            raise TicketClosed()
        now = timezone.now()
        message = _customer_message(ticket=ticket, customer=customer, body=body, at=now, request_token=request_token)
        _attachments_save(message, attachments, written)
        # From the status as locked, not as read before the form was checked: staff may have moved it meanwhile.
        reopened = locked.status in (Ticket.Status.SOLVED, Ticket.Status.PENDING)
        ticket.status = Ticket.Status.OPEN if reopened else locked.status
        ticket.updated_at = now
        Ticket.objects.filter(pk=ticket.pk).update(status=ticket.status, updated_at=now)
        page_cache.pages_changed(ticket)
        _notify_staff(ticket, message, template="tickets/emails/staff_customer_reply")
    return message


SOLVED_BY_CUSTOMER = "Marked this ticket solved."


def ticket_mark_solved(*, ticket: Ticket, customer: Customer) -> TicketMessage | None:
    """The customer says their question is answered: the ticket is solved, which the timeline shows as their
    public message, and staff hear of it as they do of a reply. A reply opens it again.

    Returns that message, or None if the ticket was solved already (nothing changes, nothing is sent).
    Raises TicketClosed for a closed ticket.
    """
    with transaction.atomic():
        locked = _locked_for(customer, ticket)
        if locked.is_read_only:
            raise TicketClosed()
        if not locked.can_be_marked_solved:
            return None
        now = timezone.now()
        message = _customer_message(ticket=ticket, customer=customer, body=SOLVED_BY_CUSTOMER, at=now)
        ticket.status, ticket.updated_at = Ticket.Status.SOLVED, now
        Ticket.objects.filter(pk=ticket.pk).update(status=ticket.status, updated_at=now)
        page_cache.pages_changed(ticket)
        _notify_staff(ticket, message, template="tickets/emails/staff_customer_solved")
    return message


def ticket_portal_link_send(
    *,
    ticket: Ticket,
    staff_user: User | None = None,
    origin: ClientOrigin | None = None,
    template: str = "tickets/emails/portal_link",
    context: dict | None = None,
) -> CustomerToken:
    """Email the requester a link that signs them in and opens this ticket."""
    return access_link_send(
        customer=ticket.requester,
        next_path=ticket_path(ticket, customer_portal(ticket.requester, "tickets")),
        created_by=staff_user,
        link_route=LINK_ROUTE,
        email_template=template,
        email_context={"ticket": ticket, **(context or {})},
        origin=origin,
    )


def ticket_portal_links_send(
    *, tickets: Iterable[Ticket], staff_user: User | None = None, origin: ClientOrigin | None = None
) -> int:
    """One link per ticket, written a batch at a time (one transaction and a few INSERTs per batch of one
    organisation's tickets): a failure leaves the batches already sent in place.

    Tickets of organisations that closed emailed sign-in links get none."""
    sent = 0
    batch: list[Ticket] = []
    for ticket in tickets:
        if batch and (len(batch) >= PORTAL_LINK_BATCH or ticket.organisation_id != batch[0].organisation_id):
            sent += _portal_links_send(batch, staff_user=staff_user, origin=origin)
            batch = []
        batch.append(ticket)
    if batch:
        sent += _portal_links_send(batch, staff_user=staff_user, origin=origin)
    return sent


def _portal_links_send(tickets: list[Ticket], *, staff_user: User | None, origin: ClientOrigin | None) -> int:
    """One organisation's batch; none where it closed emailed sign-in links."""
    portal_of = portal_chooser(tickets[0].organisation_id, "tickets")
    try:
        access_links_send(
            organisation=tickets[0].organisation,
            links=[
                PlannedLink(
                    customer=ticket.requester,
                    next_path=ticket_path(ticket, portal_of(ticket.requester)),
                    email_context={"ticket": ticket},
                )
                for ticket in tickets
            ],
            created_by=staff_user,
            link_route=LINK_ROUTE,
            email_template="tickets/emails/portal_link",
            origin=origin,
        )
    except AccessLinksClosed:
        return 0
    return sum(1 for ticket in tickets if ticket.requester.is_active)  # a deactivated requester gets none


# What the customer sees of a ticket: changing one of these counts as activity (its company, say, does not).
CUSTOMER_VISIBLE_FIELDS = {"subject", "status", "priority", "assigned_agent"}


def ticket_save_by_staff(
    *, ticket: Ticket, created: bool, changed_fields: Iterable[str], request_token: str = ""
) -> None:
    """Save a ticket staff edited in admin: a new one takes the next number.

    Raises CreatedAlready, creating nothing, if the same add page (`request_token`) created a ticket before."""
    if not created:
        if CUSTOMER_VISIBLE_FIELDS & set(changed_fields):
            ticket.updated_at = timezone.now()
        ticket.save()
        return

    def create() -> None:
        # Inside create_once's savepoint, so a ticket created already gives its number back.
        ticket.number = ticket_number_take(organisation=ticket.organisation)
        ticket.save()

    create_once(ticket, request_token=request_token, create=create)


@transaction.atomic
def ticket_staff_messages_publish(
    *,
    ticket: Ticket,
    messages: Sequence[TicketMessage],
    staff_user: User,
    created: bool,
    origin: ClientOrigin | None = None,
) -> str:
    """After staff saved a ticket in admin: tell the customer of what is new and public.

    A new ticket gets one email with a portal link, where the organisation wants it; otherwise each public
    reply is emailed with its text, and with a link that signs in where the organisation lets notification links
    sign in, unless the requester turned these emails off or is deactivated. Returns why a public reply was not
    emailed ("" when it was, or when there was none).
    """
    ticket_settings = TicketSettings.for_organisation(ticket.organisation)
    public = [message for message in messages if not message.internal]
    if created and ticket_settings.link_on_staff_ticket:
        try:
            ticket_portal_link_send(
                ticket=ticket,
                staff_user=staff_user,
                origin=origin,
                template="tickets/emails/ticket_opened_by_staff",
                context={"messages": public},
            )
        except AccessLinksClosed:
            # The customer still hears of the ticket, with a link to it behind sign-in.
            email_enqueue(
                organisation=ticket.organisation,
                to=ticket.requester.email,
                template="tickets/emails/ticket_opened_by_staff",
                context={
                    "ticket": ticket,
                    "customer": ticket.requester,
                    "messages": public,
                    "link": settings.SITE_URL + ticket_path(ticket, customer_portal(ticket.requester, "tickets")),
                },
            )
        except CustomerDeactivated:
            return "the requester is deactivated" if public else ""
        return ""
    if not public:
        return ""
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=max(m.created_at for m in public))
    page_cache.pages_changed(ticket)
    if not ticket.requester.is_active:
        return "the requester is deactivated"
    if not ticket.requester.wants_email(REPLY_EMAILS):
        return "the requester turned reply emails off"
    portal = customer_portal(ticket.requester, "tickets")
    for message in public:
        link = notification_link_make(
            customer=ticket.requester,
            next_path=ticket_path(ticket, portal),
            link_route=LINK_ROUTE,
            created_by=staff_user,
            origin=origin,
        )
        email_enqueue(
            organisation=ticket.organisation,
            to=ticket.requester.email,
            template="tickets/emails/staff_reply",
            context={
                "ticket": ticket,
                "message": message,
                "customer": ticket.requester,
                **link.context(),
            },
            secrets=link.secrets,
        )
    return ""


@transaction.atomic
def ticket_staff_reply(
    *,
    ticket: Ticket,
    staff_user: User,
    body: str,
    internal: bool,
    created: bool,
    origin: ClientOrigin | None = None,
    request_token: str = "",
) -> str:
    """What staff wrote on a ticket's admin page: a public reply or an internal note (none if `body` is empty),
    then what the customer must hear of it. Returns why a public reply was not emailed, as
    ticket_staff_messages_publish does.

    Raises ReplySentAlready, writing and sending nothing, if the same page (`request_token`) was saved before."""
    message = None
    if body:
        # Locked, so the same page saved twice at once writes once: the second waits, then finds the first reply.
        list(Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk"))
        sent = TicketMessage.objects.filter(ticket=ticket, author_staff=staff_user, request_token=request_token)
        if request_token and sent.exists():
            raise ReplySentAlready
        message = TicketMessage.objects.create(
            ticket=ticket,
            author_staff=staff_user,
            author_name=author_name_for(staff=staff_user),
            body=body,
            internal=internal,
            request_token=request_token,
        )
    return ticket_staff_messages_publish(
        ticket=ticket, messages=[message] if message else [], staff_user=staff_user, created=created, origin=origin
    )
