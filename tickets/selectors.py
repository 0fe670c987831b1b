"""Reads of the tickets app. Every customer-facing query keeps the access rule of `visible_tickets`."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, NullIf, Upper

from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation
from portal_core.expressions import InSubquery
from portal_core.prepared import PreparedQuery, planned_for_its_values, window_bounds
from tickets.models import Company, Ticket, TicketAttachment, TicketMessage, TicketSettings, TicketShownFacts


def _shared_companies(customer_id: int, organisation_id: int) -> QuerySet[Company]:
    """The companies whose tickets the customer may see: theirs, where the organisation shares company tickets."""
    return Company.objects.filter(
        organisation_id=organisation_id,
        members=customer_id,
        organisation__ticket_settings__customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY,
    ).order_by()


def _visible(customer_id: int, organisation_id: int) -> QuerySet[Ticket]:
    of_shared_company = InSubquery(F("company"), Subquery(_shared_companies(customer_id, organisation_id).values("pk")))
    return Ticket.objects.filter(Q(requester=customer_id) | Q(of_shared_company), organisation_id=organisation_id)


def visible_tickets(customer: Customer) -> QuerySet[Ticket]:
    """The tickets `customer` may see: those they requested, and their companies' where the organisation allows.

    One query, whatever the settings, each rule served by its own index (requester, company). For a list in
    order, tickets_for reads the rules apart.
    """
    return _visible(customer.pk, customer.organisation_id)


def _matching(tickets: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    # The subject and the number are searched among the tickets the customer may see only, read from the list's
    # indexes, which carry both (tickets migration 0006 says why no trigram index), the subject upper-cased as the
    # search text is, by the database, so both fold case alike.
    query = query.strip()
    in_subject = Q(subject_folded__contains=Upper(Value(query, output_field=CharField())))
    number = query.removeprefix("#").strip()
    # ASCII digits only: "³" is a digit to str.isdigit() but not to int().
    if number.isascii() and number.isdigit() and len(number) < 10:
        return tickets.filter(Q(number=int(number)) | in_subject)
    return tickets.filter(in_subject)


@dataclass(slots=True)
class ListedTicket(TicketShownFacts):
    """A ticket as a row of a list shows it (the ticket list, the home): read as values, not as a model instance,
    which costs twice as much a row. `requester_label` names the requester, read with the row or just after it."""

    pk: int
    number: int
    subject: str
    status: str
    priority: str
    updated_at: datetime
    requester_id: int
    requester_label: str | None = None


# What a row of a list shows, in ListedTicket's order.
LIST_ROW_FIELDS = ("pk", "number", "subject", "status", "priority", "updated_at", "requester_id")
LIST_ORDER = ("-updated_at", "-pk")
OLDEST_FIRST = ("updated_at", "pk")


def _count_of(parts: list[QuerySet[Ticket]]) -> QuerySet:
    first, *others = (part.order_by().values("pk") for part in parts)
    return first.union(*others, all=True).order_by()  # not the model's ordering, on columns a count doesn't select


# A window ending within this many rows names its requesters in its own query: a subquery for each row a part reads,
# a few dozen at most. A deeper window reads their names after, in one query for the rows it shows: as subqueries,
# the last page of the heaviest customer at scale ran 25,000 of them (83 ms instead of 28).
_NAMED_IN_THE_WINDOW = 100


def _requester_label() -> Subquery:
    requester = Customer.objects.filter(pk=OuterRef("requester_id")).order_by()
    return Subquery(requester.values(label=Coalesce(NullIf("name", Value("")), "email", output_field=CharField()))[:1])


def _window_of(
    parts: list[QuerySet[Ticket]], start: int, stop: int, oldest_first: bool = False
) -> QuerySet[Ticket, tuple]:
    """A window of the union of `parts` (_list_parts's, the customer's own tickets first). A shallow window reads the
    other requesters' names with its rows; the customer's own rows are named after, from the customer (_labelled).
    """
    order = OLDEST_FIRST if oldest_first else LIST_ORDER
    rows: list[QuerySet[Ticket, tuple]]
    if stop <= _NAMED_IN_THE_WINDOW:
        own, *shared = parts
        unnamed = own.annotate(requester_label=Value(None, output_field=CharField()))
        named = [part.annotate(requester_label=_requester_label()) for part in shared]
        rows = [part.values_list(*LIST_ROW_FIELDS, "requester_label") for part in [unnamed, *named]]
    else:
        rows = [part.values_list(*LIST_ROW_FIELDS) for part in parts]
    # SQLite can't limit the parts of a UNION; it reads them whole, as it read the one OR.
    bounded = connection.features.supports_slicing_ordering_in_compound
    first, *others = (part.order_by(*order)[:stop] if bounded else part.order_by() for part in rows)
    return first.union(*others, all=True).order_by(*order)[start:stop]


def _labelled(tickets: list[ListedTicket], customer: Customer) -> list[ListedTicket]:
    """Each ticket with `requester_label`, the requester's name (or email), which a row shows when it is not the
    customer's own: the customer's own named from the customer; others' read with a shallow window, or here, in
    one query for a deep window's other requesters.
    """
    unnamed = [ticket for ticket in tickets if ticket.requester_label is None]
    if not unnamed:
        return tickets
    labels = {customer.pk: customer.name or customer.email}
    if others := {ticket.requester_id for ticket in unnamed} - labels.keys():
        requesters = Customer.objects.filter(pk__in=others, organisation_id=customer.organisation_id)
        labels |= {pk: name or email for pk, name, email in requesters.values_list("pk", "name", "email")}
    for ticket in unnamed:
        ticket.requester_label = labels.get(ticket.requester_id, "")
    return tickets


class TicketList:
    """A customer's tickets in list order, as a Paginator reads them: a count, and a window by slicing.

    The visible tickets come as disjoint parts, each read down its own index in list order (tickets_for). A
    window is each part's first rows up to the window's end, merged: PostgreSQL reads a few rows of each. Read
    as one OR, it had to read and sort every visible ticket first, 25,000 for the heaviest customer at scale.

    Each ticket of a window carries what a row of a list shows (LIST_ROW_FIELDS) and `requester_label`, the
    requester's name or email, which a row shows when the ticket is not the customer's own (_window_of).
    """

    def __init__(self, customer: Customer, parts: list[QuerySet[Ticket]]) -> None:
        self.customer = customer
        self.parts = parts
        self.counted: int | None = None

    def count(self) -> int:
        self.counted = self._count()
        return self.counted

    def __getitem__(self, window: slice) -> list[ListedTicket]:
        start, stop = window_bounds(window, "ticket list")
        if stop <= start:  # a Paginator asks for [0:0] when nothing matches
            return []
        total = self.counted
        if total is not None and start > total // 2:
            # Nearer the end than the start (a Paginator counts first): read oldest first, as far in as the window
            # is from the end, so the last page reads a few rows of each part and not every visible ticket.
            stop = min(stop, total)
            rows = self._window(total - stop, total - start, oldest_first=True)[::-1]
        else:
            rows = self._window(start, stop, oldest_first=False)
        return _labelled([ListedTicket(*row) for row in rows], self.customer)

    # A search's statements differ only by the text searched for: prepared, they would get a generic plan, which
    # can't judge how many subjects hold a text.
    def _count(self) -> int:
        with planned_for_its_values():
            return _count_of(self.parts).count()

    def _window(self, start: int, stop: int, oldest_first: bool) -> list[tuple]:
        with planned_for_its_values():
            return list(_window_of(self.parts, start, stop, oldest_first))


def _list_parts(customer_id: int, organisation_id: int, status: str | None = None) -> list[QuerySet[Ticket]]:
    """The tickets of visible_tickets in three disjoint parts, each read down an index in list order: the customer's
    own (by requester); their company's requested by others (by company); and those of any further companies,
    which few customers have, read together and sorted. Their companies' ids are subqueries PostgreSQL runs first.
    """
    in_organisation = Ticket.objects.filter(organisation_id=organisation_id)
    others = in_organisation.exclude(requester=customer_id)
    companies = _shared_companies(customer_id, organisation_id).order_by("pk").values("pk")
    parts = [
        in_organisation.filter(requester=customer_id),
        others.filter(company=Subquery(companies[:1])),
        others.filter(InSubquery(F("company"), Subquery(companies[1:]))),
    ]
    return [part.filter(status=status) for part in parts] if status else parts


_LIST_COUNT = PreparedQuery(lambda **values: _count_of(_list_parts(**values)))
_LIST_WINDOW = PreparedQuery(
    lambda window, oldest_first, **values: _window_of(_list_parts(**values), window.start, window.stop, oldest_first)
)


class _UnsearchedTicketList(TicketList):
    """A list with no search text: the same queries, compiled once per process (portal_core/prepared.py)."""

    def __init__(self, customer: Customer, status: str | None) -> None:
        self.customer = customer
        self.counted = None
        self.values = {
            "customer_id": customer.pk,
            "organisation_id": customer.organisation_id,
            "status": status or None,
        }

    def _count(self) -> int:
        return _LIST_COUNT.count(**self.values)

    def _window(self, start: int, stop: int, oldest_first: bool) -> list[tuple]:
        return _LIST_WINDOW(window=slice(start, stop), oldest_first=oldest_first, **self.values)


def tickets_for(customer: Customer, *, status: str | None = None, query: str | None = None) -> TicketList:
    """The customer's tickets, newest activity first, optionally of one status and matching a subject or number.

    One query each for a count and a window, whatever the customer's companies (_list_parts), and one for the
    names of the other requesters a window shows, if any.
    """
    if query and query.strip():
        parts = _list_parts(customer.pk, customer.organisation_id, status)
        return TicketList(customer, [_matching(part, query) for part in parts])
    return _UnsearchedTicketList(customer, status)


def recent_tickets_for(customer: Customer, *, limit: int = 3) -> list[ListedTicket]:
    return tickets_for(customer)[:limit]


TICKET_FIELDS = tuple(field.name for field in Ticket._meta.concrete_fields)
AGENT_FIELDS = ("first_name", "last_name", "email", "is_active")


# Of the requester and the agent, what the page names them by (and the agent's address, which a reply emails).
_TICKET_PEOPLE = ("requester__name", "requester__email", *(f"assigned_agent__{name}" for name in AGENT_FIELDS))
_TICKET_OF = PreparedQuery(
    lambda customer_id, organisation_id, number: (
        _visible(customer_id, organisation_id)
        .select_related("assigned_agent", "requester")
        .only(*TICKET_FIELDS, *_TICKET_PEOPLE)
        .filter(number=number)
        .order_by()[:1]
    )  # a number is unique in its organisation
)


def get_ticket_for(customer: Customer, number: int) -> Ticket:
    """One ticket the customer may see, by its number.

    LookRefused (a 404) for any other, existing or not, so others' tickets can't be told apart.
    """
    number = int(number)
    # A number from the address may be any length; a prepared query binds it as the column's 32-bit integer.
    if not 0 < number < 2**31:
        raise LookRefused(f"ticket {number}")
    found = _TICKET_OF(customer_id=customer.pk, organisation_id=customer.organisation_id, number=number)
    if not found:
        raise LookRefused(f"ticket {number}")
    return found[0]


@dataclass(slots=True)
class ShownMessage:
    """A public message of a ticket as its customer's page shows it: read as values, not as a model instance,
    which costs twice as much a row (6 µs more, on a thread of 20 messages)."""

    pk: int
    author_customer_id: int | None
    author_name: str
    body: str
    created_at: datetime
    shown_attachments: list[TicketAttachment] = field(default_factory=list)

    @property
    def from_staff(self) -> bool:
        return self.author_customer_id is None


_PUBLIC_MESSAGES = PreparedQuery(
    lambda ticket_id: (
        TicketMessage.objects.filter(ticket_id=ticket_id, internal=False)
        .annotate(has_attachments=Exists(TicketAttachment.objects.filter(message=OuterRef("pk"))))
        .order_by("created_at", "pk")
        .values_list("pk", "author_customer", "author_name", "body", "created_at", "has_attachments")
    )
)
# The attachments of the shown messages, by the ticket rather than by the messages' ids: a list of ids would make
# each ticket's query a shape of its own.
_SHOWN_ATTACHMENTS = PreparedQuery(
    lambda ticket_id: TicketAttachment.objects.filter(message__ticket_id=ticket_id, message__internal=False).order_by(
        "pk"
    )
)


def public_messages(ticket: Ticket) -> list[ShownMessage]:
    """The conversation as the customer sees it. Internal notes are left out here, in the query itself.

    The attachments are read (a second query) only if a message shown has any.
    """
    messages: dict[int, ShownMessage] = {}
    any_attached = False
    for pk, author_customer_id, author_name, body, created_at, has_attachments in _PUBLIC_MESSAGES(ticket_id=ticket.pk):
        messages[pk] = ShownMessage(pk, author_customer_id, author_name, body, created_at)
        any_attached = any_attached or has_attachments
    if any_attached:
        for attachment in _SHOWN_ATTACHMENTS(ticket_id=ticket.pk):
            # A message written since the thread was read is not shown, nor are its attachments.
            if (message := messages.get(attachment.message_id)) is not None:
                message.shown_attachments.append(attachment)
    return list(messages.values())


def get_attachment_for(customer: Customer, number: int, attachment_id: int) -> TicketAttachment:
    """An attachment of a public message on a ticket the customer may see; LookRefused (a 404) for any other."""
    try:
        return TicketAttachment.objects.select_related("message").get(
            pk=attachment_id,
            message__internal=False,
            message__ticket__in=visible_tickets(customer).filter(number=number).values("pk"),
        )
    except TicketAttachment.DoesNotExist:
        raise LookRefused(f"ticket attachment {attachment_id}") from None


def organisation_has_requester_email(organisation: Organisation, email: str) -> bool:
    """An identity source: whether `email` requested any ticket of the organisation."""
    # Scoped through the requester too, so the (organisation, email) index finds the customer.
    return Ticket.objects.filter(
        organisation=organisation, requester__organisation=organisation, requester__email=email
    ).exists()


def email_has_tickets(organisation: Organisation, email: str) -> bool:
    """Whether the customer with `email` may see any ticket: whom a requested access link may reach."""
    customer = Customer.objects.filter(organisation=organisation, email=email, is_active=True).first()
    return customer is not None and visible_tickets(customer).exists()
