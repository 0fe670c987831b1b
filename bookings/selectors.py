"""Reads of the bookings app. Each one that serves a customer scopes by organisation and attendee email."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
    Window,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from bookings.models import (
    DEFAULT_ADD_ON_CANCELLATION_NOTICE,
    AddOn,
    Attendee,
    Booking,
    BookingAddOn,
    BookingDocument,
    BookingSettings,
    BookingShownFacts,
    Service,
    format_price,
)
from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation
from portal_core.expressions import JSONRows
from portal_core.pagination import WindowedList
from portal_core.prepared import PreparedQuery


class BookingNotLinked(PermissionDenied):
    """The booking exists in this organisation, but no attendee of it has the customer's email.

    `what` names it for the access log, as LookRefused does.
    """

    def __init__(self, email: str, *, what: str):
        super().__init__(f"This booking is not linked to {email}.")
        self.email = email
        self.what = what


# A CharField's max_length is always set; the stubs allow None for other fields.
_REFERENCE_LENGTH = cast(int, Booking._meta.get_field("reference").max_length)


def _booking_named(reference: str) -> str:
    # Where the link alone opens a booking its reference is the key to it: the access log keeps only its start.
    return f"booking {reference[:6]}…" if len(reference) > 6 else f"booking {reference}"


def _could_be_a_reference(reference: str) -> bool:
    # Checked before any query: PostgreSQL refuses a NUL in text outright, and no reference holds one.
    return 0 < len(reference) <= _REFERENCE_LENGTH and reference.isprintable()


def _booking_or_refusal(reference: str, *, organisation_id: int, customer: Customer | None) -> Booking:
    if not _could_be_a_reference(reference):
        raise LookRefused(_booking_named(reference))
    email, customer_id = (customer.email, customer.pk) if customer else (None, None)
    found = _BOOKING_PAGE(organisation_id=organisation_id, reference=reference, email=email, customer_id=customer_id)
    if not found:
        raise LookRefused(_booking_named(reference))
    return _with_attendee_names(found[0])


def organisation_has_attendee_email(organisation: Organisation, email: str) -> bool:
    """Whether `email` is an attendee's on any booking of the organisation (the main contact's never counts).
    An attendee without an email is no one's: the empty address matches none."""
    return bool(email) and Attendee.objects.filter(booking__organisation=organisation, email=email).exists()


def _attendee_of(email: str, booking: str = "pk") -> Exists:
    """True where an attendee of the booking (the outer row's `booking` field) has the customer's `email` (never
    the attendees without one)."""
    return Exists(Attendee.objects.filter(booking=OuterRef(booking), email=email).exclude(email=""))


# A customer attends few of the organisation's bookings, so theirs are found through the attendee email
# index first. The LIMIT keeps PostgreSQL from merging that subquery into a join: merged, it may walk
# every booking of the organisation in date order looking for theirs (half a second at 200,000
# bookings for a customer on 1,000). No customer attends anywhere near this many bookings.
ATTENDED_BOOKINGS_LIMIT = 1_000_000


def _attended(organisation_id: int, email: str) -> QuerySet[Booking]:
    attended = Attendee.objects.filter(email=email).exclude(email="").values("booking_id")[:ATTENDED_BOOKINGS_LIMIT]
    return Booking.objects.filter(organisation_id=organisation_id, pk__in=attended)


def bookings_for(customer: Customer) -> QuerySet[Booking]:
    """Every booking of the customer's organisation on which an attendee has their email."""
    return _attended(customer.organisation_id, customer.email)


@dataclass(slots=True)
class ListedBooking(BookingShownFacts):
    """A booking as a row of a list shows it (My bookings, the home): read as values, not as a model instance,
    which costs twice as much a row."""

    pk: int
    reference: str
    title: str
    starts_on: date
    ends_on: date
    status: str
    # A service's booking is for a time on its day, which the row shows with it.
    slot_starts_at: datetime | None
    slot_ends_at: datetime | None


# What a row of a list shows: ListedBooking's fields, in order.
LIST_ROW_FIELDS = tuple(ListedBooking.__dataclass_fields__)


def _listed(organisation_id: int, email: str, today: date, past: bool) -> QuerySet[Booking]:
    bookings = _attended(organisation_id, email)
    return bookings.filter(ends_on__lt=today) if past else bookings.filter(ends_on__gte=today)


def _list_rows(
    organisation_id: int, email: str, today: date, past: bool, window: slice, counted: bool = False
) -> QuerySet[Booking]:
    bookings = _listed(organisation_id, email, today, past)
    if counted:
        # On each row, how many bookings the whole list holds: a page and its paginator's count in one query.
        bookings = bookings.annotate(listed=Window(Count("*")))
    bookings = bookings.order_by("-starts_on", "-pk") if past else bookings.order_by("starts_on", "pk")
    rows = bookings.values_list(*LIST_ROW_FIELDS, *(["listed"] if counted else []))
    return rows[window]


def _list_count(organisation_id: int, email: str, today: date, past: bool) -> QuerySet[Booking, Any]:
    return _listed(organisation_id, email, today, past).order_by().values("pk")


_LIST_ROWS = PreparedQuery(_list_rows)
_LIST_COUNT = PreparedQuery(_list_count)


class BookingList(WindowedList[ListedBooking]):
    """A customer's upcoming or past bookings in list order, as a Paginator reads them (portal_core/pagination.py);
    iterated, all of them. Each booking carries what a row of a list shows (LIST_ROW_FIELDS)."""

    what = "booking list"
    row = ListedBooking

    def __init__(self, customer: Customer, *, today: date, past: bool) -> None:
        super().__init__()
        self.values: dict[str, Any] = {
            "organisation_id": customer.organisation_id,
            "email": customer.email,
            "today": today,
            "past": past,
        }

    def count(self) -> int:
        return _LIST_COUNT.count(**self.values)

    def _rows(self, start: int | None, stop: int | None, counted: bool) -> list[tuple]:
        return _LIST_ROWS(**self.values, window=slice(start, stop), counted=counted)

    def exists(self) -> bool:
        return bool(self.rows(slice(0, 1)))

    def __iter__(self) -> Iterator[ListedBooking]:
        return iter(self.rows(None))


def upcoming_bookings_for(customer: Customer, *, today: date | None = None) -> BookingList:
    """Bookings not yet over (ongoing ones included), soonest first, each carrying what a row of a list shows."""
    return BookingList(customer, today=today or timezone.localdate(), past=False)


@dataclass(slots=True)
class HomeBooking(ListedBooking):
    """A booking as the home shows it: a row of a list, and whether it is still ahead (not yet over)."""

    ahead: bool


def _home_rows(organisation_id: int, email: str, today: date, window: slice) -> QuerySet[Booking, tuple]:
    # Those not yet over first, then those over, each list in My bookings' order (soonest first; latest first). Past
    # ones come only when fewer than the window's rows lie ahead, and say that the customer holds bookings even when
    # none is coming.
    ahead = Q(ends_on__gte=today)
    bookings = _attended(organisation_id, email).annotate(ahead=ExpressionWrapper(ahead, output_field=BooleanField()))

    def among_ahead(field: str) -> OrderBy:
        return Case(When(ahead, then=F(field))).asc(nulls_last=True)

    in_order = bookings.order_by(F("ahead").desc(), among_ahead("starts_on"), among_ahead("pk"), "-starts_on", "-pk")
    return in_order.values_list(*LIST_ROW_FIELDS, "ahead")[window]


_HOME_ROWS = PreparedQuery(_home_rows)


def next_bookings_for(customer: Customer, *, limit: int = 3) -> list[HomeBooking]:
    """The few bookings the home shows: the soonest not yet over; when none is, the latest that is over, which
    the home offers as the way to the past ones (and by which a section hidden when empty knows it isn't). One query.
    """
    found = _HOME_ROWS(
        organisation_id=customer.organisation_id,
        email=customer.email,
        today=timezone.localdate(),
        window=slice(0, limit),
    )
    rows = [HomeBooking(*values) for values in found]
    return [row for row in rows if row.ahead] or rows[:1]


def past_bookings_for(customer: Customer, *, today: date | None = None) -> BookingList:
    """Bookings that have ended, most recent first, each carrying what a row of a list shows."""
    return BookingList(customer, today=today or timezone.localdate(), past=True)


def _booking_page(
    organisation_id: int, reference: str, email: str | None, customer_id: int | None
) -> QuerySet[Booking]:
    """The booking with its attendees' names, and what spares its page a query when there is nothing to list: whether
    the organisation has any add-on (none: no add-on booked or offered), and for a customer, whether they are an
    attendee and whether they uploaded any document to it."""
    bookings = (
        Booking.objects.filter(organisation_id=organisation_id, reference=reference)
        .select_related("service", "resource")
        .annotate(
            # Attendees are shown by name only: their emails are not even read.
            attendee_names=JSONRows(Attendee.objects.filter(booking=OuterRef("pk")).values_list("pk", "name")),
            organisation_has_add_ons=Exists(AddOn.objects.filter(organisation_id=OuterRef("organisation_id"))),
        )
        .order_by()
    )
    if email is None or customer_id is None:
        return bookings
    own_documents = BookingDocument.objects.filter(booking=OuterRef("pk"), uploaded_by_id=customer_id)
    return bookings.annotate(customer_is_attendee=_attendee_of(email), has_own_documents=Exists(own_documents))


_BOOKING_PAGE = PreparedQuery(_booking_page)


def _with_attendee_names(booking: Booking) -> Booking:
    # What prefetch_related("attendees") leaves, from the names read with the booking: a prefetch is a query of its
    # own. The page reads them as booking.attendees.all, in the attendees' order (Attendee.Meta.ordering: pk).
    attendees = []
    for pk, name in sorted(booking.attendee_names):  # type: ignore[attr-defined]
        # As a query with .only("pk", "booking", "name") gives it: the email deferred, not read.
        attendee = Attendee.from_db(booking._state.db, ["id", "booking_id", "name"], (pk, booking.pk, name))
        attendee.booking = booking
        attendees.append(attendee)
    prefetched = booking.attendees.get_queryset()
    prefetched._result_cache = attendees
    prefetched._prefetch_done = True  # type: ignore[attr-defined]
    booking._prefetched_objects_cache = {"attendees": prefetched}  # type: ignore[attr-defined]
    return booking


def get_booking_for(customer: Customer, reference: str) -> Booking:
    """The booking `reference` if the customer may see it.

    LookRefused (a 404) if the customer's organisation has no such booking (another organisation's
    reference included); BookingNotLinked (a PermissionDenied) if it exists but isn't theirs.
    """
    booking = _booking_or_refusal(reference, organisation_id=customer.organisation_id, customer=customer)
    # The annotation above; django-stubs loses track of annotations once a function returns the model.
    if not booking.customer_is_attendee:  # type: ignore[attr-defined]
        raise BookingNotLinked(customer.email, what=_booking_named(reference))
    booking.organisation = customer.organisation  # known already: spare the page a query
    return booking


def get_booking_by_link(organisation: Organisation, reference: str) -> Booking:
    """For organisations whose booking links need no sign-in: the link alone opens its booking. Else LookRefused."""
    booking = _booking_or_refusal(reference, organisation_id=organisation.pk, customer=None)
    booking.organisation = organisation
    return booking


def _add_ons(organisation_id: int, booking_id: int) -> QuerySet[AddOn]:
    organisation_notice = BookingSettings.objects.filter(organisation_id=organisation_id).values(
        "add_on_cancellation_notice"
    )
    return (
        AddOn.objects.filter(organisation_id=organisation_id)
        .annotate(
            line=FilteredRelation(
                "bookings", condition=Q(bookings__booking=booking_id, bookings__cancelled_at__isnull=True)
            )
        )
        .filter(Q(is_active=True) | Q(line__isnull=False))
        .annotate(
            booked_at=F("line__booked_at"),
            booked_price=F("line__price"),
            booked_currency=F("line__currency"),
            booked_by_customer_id=F("line__booked_by_customer_id"),
            # Carried on every row so the page needs no query of its own for the organisation's settings.
            organisation_notice=Subquery(organisation_notice[:1]),
        )
    )


_ADD_ONS = PreparedQuery(_add_ons)


def add_ons_for(booking: Booking) -> tuple[list[AddOn], list[AddOn]]:
    """(booked, offered): the add-ons booked on `booking` (cancelled lines left out), and those still
    offered to it, in one query.

    A booked add-on carries `booked_price`, `booked_currency`, `booked_at` and `booked_by_customer_id`
    from its booking line, `cancellable_until`, the moment its customer can no longer cancel it, and
    `cancellable`, whether that moment is still to come.
    """
    # Read with a booking for its page (_booking_page); any other booking asks.
    if not getattr(booking, "organisation_has_add_ons", True):  # none booked, none offered
        return [], []
    now = timezone.now()
    add_ons = _ADD_ONS(organisation_id=booking.organisation_id, booking_id=booking.pk)
    booked: list[AddOn] = []
    offered: list[AddOn] = []
    for add_on in add_ons:
        if add_on.booked_at:
            add_on.booked_price_display = format_price(add_on.booked_price, add_on.booked_currency)
            notice = add_on.organisation_notice
            add_on.cancellable_until = booking.add_on_cancellation_deadline(
                DEFAULT_ADD_ON_CANCELLATION_NOTICE if notice is None else notice
            )
            add_on.cancellable = now < add_on.cancellable_until and booking.status != Booking.Status.CANCELLED
            booked.append(add_on)
        else:
            offered.append(add_on)
    return booked, offered


def get_add_on_for(booking: Booking, add_on_id: int) -> AddOn:
    """An add-on of the booking's organisation, offered or not (the form says which may be booked); Http404 else.

    It carries `is_booked`: whether it is booked on `booking` now.
    """
    booked = BookingAddOn.objects.filter(booking=booking, add_on=OuterRef("pk"), cancelled_at__isnull=True)
    add_ons = AddOn.objects.filter(organisation_id=booking.organisation_id).annotate(is_booked=Exists(booked))
    return get_object_or_404(add_ons, pk=add_on_id)


def get_booked_add_on_for(booking: Booking, add_on_id: int) -> BookingAddOn:
    """The booking's line for this add-on that is not cancelled; Http404 if there is none."""
    line = get_object_or_404(
        BookingAddOn.objects.select_related("add_on"), booking=booking, add_on_id=add_on_id, cancelled_at__isnull=True
    )
    line.booking = booking
    return line


_DOCUMENTS = PreparedQuery(
    lambda booking_id, customer_id: BookingDocument.objects.filter(booking_id=booking_id, uploaded_by_id=customer_id)
)


def documents_for(customer: Customer, booking: Booking) -> list[BookingDocument]:
    """The documents this customer uploaded for this booking: other attendees' files stay private. A booking
    get_booking_for read says whether there is any, for the customer it was read for: pass that customer."""
    # Read with a booking for this customer's page (get_booking_for); any other booking asks.
    if not getattr(booking, "has_own_documents", True):
        return []
    return _DOCUMENTS(booking_id=booking.pk, customer_id=customer.pk)


def get_document_for(customer: Customer, reference: str, pk: int) -> BookingDocument:
    """A document the customer uploaded, on a booking they may still see; LookRefused (a 404) for anything else."""
    if not _could_be_a_reference(reference):
        raise LookRefused(f"booking document {pk}")
    try:
        return BookingDocument.objects.get(
            _attendee_of(customer.email, booking="booking"),
            booking__organisation_id=customer.organisation_id,
            booking__reference=reference,
            uploaded_by=customer,
            pk=pk,
        )
    except BookingDocument.DoesNotExist:
        raise LookRefused(f"booking document {pk}") from None


def bookable_services(organisation: Organisation) -> QuerySet[Service]:
    """The services the organisation offers for customers to book themselves."""
    return Service.objects.filter(organisation=organisation, is_active=True).only(
        "pk", "name", "description", "duration", "price", "currency", "capacity", "organisation_id"
    )


_A_SERVICE_OFFERED = PreparedQuery(
    lambda organisation_id: (
        Service.objects.filter(organisation_id=organisation_id, is_active=True).order_by().values_list("pk")[:1]
    )
)


def organisation_offers_services(organisation: Organisation) -> bool:
    return bool(_A_SERVICE_OFFERED(organisation_id=organisation.pk))


def get_answered_service(organisation: Organisation, service_id: int) -> Service | None:
    """The service a customer's answers name, offered or not; None once it is deleted. Turned off or deleted since
    they answered, it is news to tell them, not a look at something they may not see."""
    try:
        service = Service.objects.select_related("resource").get(organisation=organisation, pk=service_id)
    except Service.DoesNotExist:
        return None
    service.organisation = organisation  # known already: spare the page a query
    return service


def get_bookable_service(organisation: Organisation, service_id: int) -> Service:
    """An offered service of the organisation, with its resource; LookRefused (a 404) for anything else."""
    try:
        service = Service.objects.select_related("resource").get(
            organisation=organisation, is_active=True, pk=service_id
        )
    except Service.DoesNotExist:
        raise LookRefused(f"service {service_id}") from None
    service.organisation = organisation  # known already: spare the page a query
    return service
