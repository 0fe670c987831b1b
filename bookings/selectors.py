"""Reads of the bookings app. Each one that serves a customer scopes by organisation and attendee email."""

from datetime import date
from typing import cast

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, FilteredRelation, OuterRef, Prefetch, Q, QuerySet, Subquery
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
    Service,
    format_price,
)
from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation


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


def _booking_or_refusal(bookings: QuerySet[Booking], reference: str) -> Booking:
    if not _could_be_a_reference(reference):
        raise LookRefused(_booking_named(reference))
    try:
        return bookings.get(reference=reference)
    except Booking.DoesNotExist:
        raise LookRefused(_booking_named(reference)) from None


def organisation_has_attendee_email(organisation: Organisation, email: str) -> bool:
    """Whether `email` is an attendee's on any booking of the organisation (the main contact's never counts)."""
    return Attendee.objects.filter(booking__organisation=organisation, email=email).exists()


def _attendee_of(customer: Customer, booking: str = "pk") -> Exists:
    """True where an attendee of the booking (the outer row's `booking` field) has the customer's email."""
    return Exists(Attendee.objects.filter(booking=OuterRef(booking), email=customer.email))


# A customer attends few of the organisation's bookings, so theirs are found through the attendee email
# index first. The LIMIT keeps PostgreSQL from merging that subquery into a join: merged, it may walk
# every booking of the organisation in date order looking for theirs (half a second at 200,000
# bookings for a customer on 1,000). No customer attends anywhere near this many bookings.
ATTENDED_BOOKINGS_LIMIT = 1_000_000


def bookings_for(customer: Customer) -> QuerySet[Booking]:
    """Every booking of the customer's organisation on which an attendee has their email."""
    attended = Attendee.objects.filter(email=customer.email).values("booking_id")[:ATTENDED_BOOKINGS_LIMIT]
    return Booking.objects.filter(organisation_id=customer.organisation_id, pk__in=attended)


# What a row of a list shows.
LIST_ROW_FIELDS = ("reference", "title", "starts_on", "ends_on", "status")


def upcoming_bookings_for(customer: Customer, *, today: date | None = None) -> QuerySet[Booking]:
    """Bookings not yet over (ongoing ones included), soonest first, each carrying what a row of a list shows."""
    today = today or timezone.localdate()
    return bookings_for(customer).filter(ends_on__gte=today).only(*LIST_ROW_FIELDS).order_by("starts_on", "pk")


def next_bookings_for(customer: Customer, *, limit: int = 3) -> list[Booking]:
    """The few bookings the home shows: the soonest not yet over."""
    return list(upcoming_bookings_for(customer)[:limit])


def past_bookings_for(customer: Customer, *, today: date | None = None) -> QuerySet[Booking]:
    """Bookings that have ended, most recent first, each carrying what a row of a list shows."""
    today = today or timezone.localdate()
    return bookings_for(customer).filter(ends_on__lt=today).only(*LIST_ROW_FIELDS).order_by("-starts_on", "-pk")


def _booking_page(organisation: Organisation) -> QuerySet[Booking]:
    # Attendees are shown by name only: their emails are not even loaded.
    names_only = Attendee.objects.only("pk", "booking_id", "name")
    return (
        Booking.objects.filter(organisation=organisation)
        .select_related("service", "resource")
        .prefetch_related(Prefetch("attendees", names_only))
    )


def get_booking_for(customer: Customer, reference: str) -> Booking:
    """The booking `reference` if the customer may see it.

    LookRefused (a 404) if the customer's organisation has no such booking (another organisation's
    reference included); BookingNotLinked (a PermissionDenied) if it exists but isn't theirs.
    """
    bookings = _booking_page(customer.organisation).annotate(customer_is_attendee=_attendee_of(customer))
    booking = _booking_or_refusal(bookings, reference)
    # The annotation above; django-stubs loses track of annotations once a function returns the model.
    if not booking.customer_is_attendee:  # type: ignore[attr-defined]
        raise BookingNotLinked(customer.email, what=_booking_named(reference))
    booking.organisation = customer.organisation  # known already: spare the page a query
    return booking


def get_booking_by_link(organisation: Organisation, reference: str) -> Booking:
    """For organisations whose booking links need no sign-in: the link alone opens its booking. Else LookRefused."""
    booking = _booking_or_refusal(_booking_page(organisation), reference)
    booking.organisation = organisation
    return booking


def add_ons_for(booking: Booking) -> tuple[list[AddOn], list[AddOn]]:
    """(booked, offered): the add-ons booked on `booking` (cancelled lines left out), and those still
    offered to it, in one query.

    A booked add-on carries `booked_price`, `booked_currency`, `booked_at` and `booked_by_customer_id`
    from its booking line, `cancellable_until`, the moment its customer can no longer cancel it, and
    `cancellable`, whether that moment is still to come.
    """
    now = timezone.now()
    organisation_notice = BookingSettings.objects.filter(organisation_id=booking.organisation_id).values(
        "add_on_cancellation_notice"
    )
    add_ons = (
        AddOn.objects.filter(organisation_id=booking.organisation_id)
        .annotate(
            line=FilteredRelation(
                "bookings", condition=Q(bookings__booking=booking, bookings__cancelled_at__isnull=True)
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


def documents_for(customer: Customer, booking: Booking) -> QuerySet[BookingDocument]:
    """The documents this customer uploaded for this booking: other attendees' files stay private."""
    return BookingDocument.objects.filter(booking=booking, uploaded_by=customer)


def get_document_for(customer: Customer, reference: str, pk: int) -> BookingDocument:
    """A document the customer uploaded, on a booking they may still see; LookRefused (a 404) for anything else."""
    if not _could_be_a_reference(reference):
        raise LookRefused(f"booking document {pk}")
    try:
        return BookingDocument.objects.get(
            _attendee_of(customer, booking="booking"),
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


def organisation_offers_services(organisation: Organisation) -> bool:
    return bookable_services(organisation).exists()


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
