"""Writes of the bookings app: atomic, with their emails recorded in the same transaction."""

import datetime
from collections.abc import Iterable
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bookings.availability import Slot, nearest_free_slots, service_slots
from bookings.calendar import booking_calendar
from bookings.models import (
    AddOn,
    Attendee,
    Booking,
    BookingAddOn,
    BookingDocument,
    BookingSettings,
    Resource,
    Service,
)
from outbox.services import email_enqueue
from portal_auth.doors.access_link.services import notification_link_make
from portal_auth.models import Customer
from portal_auth.portals import customer_page, portal_path, primary_portal
from portal_auth.services import customer_get_or_create, customer_password_reset_by_staff
from portal_core.origin import ClientOrigin
from portal_core.sent_once import CreatedAlready
from portal_core.uploads import (
    FileKind,
    files_removed_unless_committed,
    stored_upload_save,
)


def booking_path(booking: Booking, customer: Customer) -> str:
    """The booking's page in the customer's portal, for an email to them."""
    return customer_page(customer, "bookings:detail", reference=booking.reference)


def booking_url(booking: Booking) -> str:
    """The booking's portal link in the organisation's primary portal, absolute: for admin, calendars, demo data."""
    return settings.SITE_URL + portal_path(
        primary_portal(booking.organisation), "bookings:detail", reference=booking.reference
    )


@transaction.atomic
def booking_add_on_book(*, booking: Booking, add_on: AddOn, customer: Customer) -> tuple[BookingAddOn, bool]:
    """Book `add_on` on `booking` for the customer; booking it again changes nothing and sends nothing.

    Returns the booking line and whether it was created now; raises a ValidationError if the booking was cancelled
    or has ended meanwhile, and books nothing.
    """
    # The booking's row first, as cancelling it locks it before its lines: a cancellation either sees this line and
    # cancels it too, or is seen here.
    locked = (
        Booking.objects.select_for_update(of=("self",)).only("status", "ends_on", "slot_ends_at").get(pk=booking.pk)
    )
    if refusal := locked.add_on_refusal():
        raise refusal
    line, created = BookingAddOn.objects.get_or_create(
        booking=booking,
        add_on=add_on,
        cancelled_at=None,
        defaults={
            "price": add_on.price,
            "currency": add_on.currency,
            "booked_by": BookingAddOn.BookedBy.CUSTOMER,
            "booked_by_customer": customer,
        },
    )
    if created:
        link = notification_link_make(customer=customer, next_path=booking_path(booking, customer))
        email_enqueue(
            organisation=booking.organisation,
            to=customer.email,
            template="bookings/emails/add_on_booked",
            context={"customer": customer, "booking": booking, "line": line, **link.context()},
            secrets=link.secrets,
        )
    return line, created


def booking_add_on_cancellation_deadline(*, booking: Booking) -> datetime.datetime:
    """When customers can no longer cancel add-ons on `booking`: its own notice, else its organisation's."""
    notice = BookingSettings.for_organisation(booking.organisation).add_on_cancellation_notice
    return booking.add_on_cancellation_deadline(notice)


@transaction.atomic
def booking_add_on_cancel(*, line: BookingAddOn, customer: Customer) -> tuple[BookingAddOn, bool]:
    """Cancel the customer's add-on line while the booking allows it; cancelling it again changes nothing.

    Only the line changes: the booking and its other add-ons stay as they are. Returns the line and
    whether it was cancelled now; raises a ValidationError if the customer may not cancel it.
    """
    # The line's row only (of=): cancelling the booking locks the booking, then its lines; locking them here in the
    # other order would deadlock with it, and locking the organisation would hold up everything written for it.
    locked = (
        BookingAddOn.objects.select_for_update(of=("self",))
        .select_related("add_on", "booking__organisation")
        .get(pk=line.pk)
    )
    if locked.is_cancelled:
        return locked, False
    deadline = booking_add_on_cancellation_deadline(booking=locked.booking)
    if refusal := locked.customer_cancellation_refusal(customer, deadline=deadline, now=timezone.now()):
        raise refusal
    locked.cancelled_at = timezone.now()
    locked.cancelled_by, locked.cancelled_by_customer = BookingAddOn.CancelledBy.CUSTOMER, customer
    locked.save(update_fields=["cancelled_at", "cancelled_by", "cancelled_by_customer"])
    _add_on_cancelled_email(locked, customer)
    return locked, True


def _add_on_cancelled_email(line: BookingAddOn, customer: Customer) -> None:
    booking = line.booking
    link = notification_link_make(customer=customer, next_path=booking_path(booking, customer))
    email_enqueue(
        organisation=booking.organisation,
        to=customer.email,
        template="bookings/emails/add_on_cancelled",
        context={"customer": customer, "booking": booking, "line": line, **link.context()},
        secrets=link.secrets,
    )


@transaction.atomic
def booking_add_ons_save_by_staff(
    *,
    lines: Iterable[BookingAddOn],
    deleted: Iterable[BookingAddOn],
    staff_user: User,
    cancelled: Iterable[BookingAddOn] = (),
) -> None:
    """Staff's add-on changes in the admin: a new line is booked by them, at the add-on's current price.

    A line staff cancel stays, cancelled by them, whatever the customers' window; the customer who
    booked it is emailed, as when they cancel it themselves.
    """
    for line in lines:
        if line.pk is None:
            line.price, line.currency = line.add_on.price, line.add_on.currency
            line.booked_by, line.booked_by_staff = BookingAddOn.BookedBy.STAFF, staff_user
        line.save()
    for line in cancelled:
        locked = (
            BookingAddOn.objects.select_for_update(of=("self",)).select_related("booking__organisation").get(pk=line.pk)
        )
        if locked.is_cancelled:
            continue
        locked.cancelled_at = timezone.now()
        locked.cancelled_by, locked.cancelled_by_staff = BookingAddOn.CancelledBy.STAFF, staff_user
        locked.save(update_fields=["cancelled_at", "cancelled_by", "cancelled_by_staff"])
        if locked.booked_by_customer is not None:
            _add_on_cancelled_email(locked, locked.booked_by_customer)
    for line in deleted:
        line.delete()


def booking_document_upload(
    *, booking: Booking, customer: Customer, file: UploadedFile, kind: FileKind
) -> BookingDocument:
    """Store a customer's file (already checked by content) for the booking; no file stays if the row fails."""
    with files_removed_unless_committed() as written, transaction.atomic():
        document = BookingDocument(booking=booking, uploaded_by=customer)
        stored_upload_save(upload=document, file=file, kind=kind, written=written)
    return document


@transaction.atomic
def attendee_portal_password_set(
    *, origin: ClientOrigin, attendee: Attendee, password: str, staff_user: User
) -> Customer:
    """Staff set the portal password of the attendee's email, creating that customer if needed."""
    customer = customer_get_or_create(
        organisation=attendee.booking.organisation, email=attendee.email, name=attendee.name
    )
    customer_password_reset_by_staff(origin=origin, customer=customer, password=password, staff_user=staff_user)
    return customer


# ---------------------------------------------------------------------------------------------
# Services booked at a time


class SlotUnavailable(ValidationError):
    """The slot asked for has no room (any more) for the places asked: `nearest` are the free slots closest to it
    with room for them, `places_left` the places it still has (0 if none, or it can't be booked)."""

    def __init__(self, message: str, *, nearest: list[Slot], places_left: int = 0):
        super().__init__(message, code="slot_unavailable")
        self.nearest = nearest
        self.places_left = places_left


def _free_slot(
    service: Service, starts_at: datetime.datetime, *, now: datetime.datetime, ignoring: int | None = None
) -> Slot | None:
    day = starts_at.astimezone(service.organisation.zone).date()
    return next(
        (
            slot
            for slot in service_slots(service, [day], now=now, ignoring=ignoring)[day]
            if slot.starts_at == starts_at
        ),
        None,
    )


def _lock_resource(service: Service) -> None:
    # Every booking of a resource is decided under this row lock, so two confirmations of its last place are
    # made one after the other and the second sees the first (SQLite: each transaction begins IMMEDIATE,
    # holding the database's write lock, which serialises them the same way).
    Resource.objects.select_for_update().only("pk").get(pk=service.resource_id)


def _refuse(
    service: Service,
    starts_at: datetime.datetime,
    now: datetime.datetime,
    *,
    places: int,
    slot: Slot | None,
    ignoring: int | None = None,
):
    nearest = nearest_free_slots(service, starts_at, now=now, ignoring=ignoring, places=places)
    if slot is not None and service.is_active:  # free still, with fewer places than asked
        left = f"{slot.places_left} place{'s are' if slot.places_left != 1 else ' is'}"
        raise SlotUnavailable(f"Sorry, only {left} left at that time.", nearest=nearest, places_left=slot.places_left)
    raise SlotUnavailable("Sorry, that time has just been taken or is no longer open for booking.", nearest=nearest)


@transaction.atomic
def service_book(
    *,
    service: Service,
    customer: Customer,
    starts_at: datetime.datetime,
    places: int,
    note: str = "",
    staff_user: User | None = None,
    request_token: str = "",
) -> Booking:
    """Book `places` on `service` at `starts_at` for the customer, who becomes its attendee, and email them.

    All or nothing: if the slot has no longer room for `places` (taken meanwhile, closed, outside the bookable
    window), SlotUnavailable says so with the nearest free times and nothing is written. A service that needs
    staff confirmation makes a provisional booking. Staff booking on a customer's behalf pass `staff_user`. The
    booking keeps `service`'s price for the places as agreed: the caller has shown it (and checked it was shown).
    `request_token` names the sending, the customer's confirmation or staff's booking page: sent again (a double
    click, a retry on a slow connection), it raises CreatedAlready with the booking it made, and books and emails
    nothing more.
    """
    now = timezone.now()
    _lock_resource(service)
    # After the lock: a second press waits for the first to commit, then finds its booking.
    if request_token and (
        made := Booking.objects.filter(booked_by_customer=customer, request_token=request_token).first()
    ):
        raise CreatedAlready(made)
    slot = _free_slot(service, starts_at, now=now)
    if slot is None or slot.places_left < places or not service.is_active:
        _refuse(service, starts_at, now, places=places, slot=slot)
    assert slot is not None
    zone = service.organisation.zone
    status = Booking.Status.PROVISIONAL if service.needs_confirmation else Booking.Status.CONFIRMED
    booking = Booking.objects.create(
        organisation=service.organisation,
        title=service.name,
        starts_on=slot.starts_at.astimezone(zone).date(),
        ends_on=slot.ends_at.astimezone(zone).date(),
        status=status,
        main_contact_name=customer.name,
        main_contact_email=customer.email,
        service=service,
        resource_id=service.resource_id,
        slot_starts_at=slot.starts_at,
        slot_ends_at=slot.ends_at,
        places=places,
        note=note,
        booked_by_customer=customer,
        request_token=request_token,
        price=service.total(places),
        currency=service.currency,
    )
    Attendee.objects.create(booking=booking, name=_attendee_name(customer), email=customer.email)
    _service_booking_emails(booking, customer, "booked", staff_user=staff_user)
    return booking


def _attendee_name(customer: Customer) -> str:
    # A customer made from an email alone has no name: the email stands for it, cut to fit (an address may be longer).
    return (customer.name or customer.email)[: cast(int, Attendee._meta.get_field("name").max_length)]


def service_booking_change_refusal(booking: Booking, customer: Customer, *, now: datetime.datetime) -> str:
    """Why the customer may not cancel or move this booking online now ("" if they may)."""
    if not booking.is_slot or booking.service is None:
        return "This booking is managed by the business."
    if booking.status == Booking.Status.CANCELLED:
        return "This booking is cancelled."
    if booking.booked_by_customer_id != customer.pk:
        return "Only the person who made this booking can change it online."
    if now >= service_booking_change_deadline(booking):
        return (
            f"Free cancellation and changes ended {booking_moment(service_booking_change_deadline(booking), booking)}."
        )
    return ""


def service_booking_change_deadline(booking: Booking) -> datetime.datetime:
    assert booking.service is not None and booking.slot_starts_at is not None
    return booking.slot_starts_at - booking.service.free_cancellation_notice


def booking_moment(value: datetime.datetime, booking: Booking) -> str:
    """A moment as a customer of the booking's organisation reads it: its local time, naming the zone."""
    zone = booking.organisation.zone
    local = value.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M} ({zone.key.replace('_', ' ')} time)"


def _locked_for_change(booking: Booking, customer: Customer) -> Booking:
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("organisation", "service__organisation", "resource")
        .get(pk=booking.pk)
    )
    if refusal := service_booking_change_refusal(locked, customer, now=timezone.now()):
        raise ValidationError(refusal, code="too_late")
    return locked


@transaction.atomic
def service_booking_cancel(*, booking: Booking, customer: Customer) -> Booking:
    """Cancel the customer's booking of a service while its free-cancellation window is open: the place is free
    at once. Emails the customer (with the calendar's cancellation) and the support address."""
    locked = _locked_for_change(booking, customer)
    _cancelled(locked, customer=customer)
    _service_booking_emails(locked, customer, "cancelled")
    return locked


@transaction.atomic
def service_booking_cancel_by_staff(*, booking: Booking, staff_user: User) -> Booking:
    """Staff cancel a booking of a service, whatever its deadline: its place is free at once, and the customer who
    booked it is emailed (with the calendar's cancellation), as is the support address. Cancelling it again
    changes nothing."""
    locked = (
        Booking.objects.select_for_update(of=("self",)).select_related("organisation", "service").get(pk=booking.pk)
    )
    if locked.status == Booking.Status.CANCELLED:
        return locked
    _cancelled(locked, staff_user=staff_user)
    if locked.booked_by_customer is not None:
        _service_booking_emails(locked, locked.booked_by_customer, "cancelled", staff_user=staff_user)
    return locked


def _cancelled(locked: Booking, *, customer: Customer | None = None, staff_user: User | None = None) -> None:
    """Mark the locked booking cancelled, and its add-ons with it: nothing is left booked (or invoiced) on a booking
    that no longer takes place."""
    now = timezone.now()
    locked.status, locked.cancelled_at = Booking.Status.CANCELLED, now
    locked.calendar_sequence += 1
    locked.save(update_fields=["status", "cancelled_at", "calendar_sequence"])
    by = BookingAddOn.CancelledBy.CUSTOMER if customer is not None else BookingAddOn.CancelledBy.STAFF
    # Each line saved on its own, as its own cancellation would be, so what watches lines (an add-on's invoice is
    # voided) sees each one.
    for line in BookingAddOn.objects.select_for_update().filter(booking=locked, cancelled_at__isnull=True):
        line.cancelled_at, line.cancelled_by = now, by
        line.cancelled_by_customer, line.cancelled_by_staff = customer, staff_user
        line.save(update_fields=["cancelled_at", "cancelled_by", "cancelled_by_customer", "cancelled_by_staff"])


@transaction.atomic
def service_booking_reschedule(*, booking: Booking, customer: Customer, starts_at: datetime.datetime) -> Booking:
    """Move the customer's booking to another free slot of its service, for the same places, while its window is
    open; the old place is free at once. SlotUnavailable (nothing changed) if the new slot has no room. Moved to
    the time it already has, it changes nothing and emails nothing."""
    locked = _locked_for_change(booking, customer)
    service = locked.service
    assert service is not None
    if starts_at.astimezone(datetime.UTC) == locked.slot_starts_at:
        return locked
    now = timezone.now()
    _lock_resource(service)
    slot = _free_slot(service, starts_at, now=now, ignoring=locked.pk)
    if slot is None or slot.places_left < locked.places:
        _refuse(service, starts_at, now, places=locked.places, slot=slot, ignoring=locked.pk)
    assert slot is not None
    zone = locked.organisation.zone
    previous = locked.slot_starts_at
    locked.slot_starts_at, locked.slot_ends_at = slot.starts_at, slot.ends_at
    locked.starts_on, locked.ends_on = slot.starts_at.astimezone(zone).date(), slot.ends_at.astimezone(zone).date()
    locked.resource_id = service.resource_id
    locked.calendar_sequence += 1
    locked.save(
        update_fields=["slot_starts_at", "slot_ends_at", "starts_on", "ends_on", "resource", "calendar_sequence"]
    )
    _service_booking_emails(locked, customer, "rescheduled", previous=previous)
    return locked


_STAFF_HEADLINES = {
    "booked": "New booking",
    "cancelled": "Cancelled by the customer",
    "rescheduled": "Moved by the customer",
    "confirmed": "Confirmed by staff",
}
_TO_CONFIRM = "New booking to confirm"


def service_booking_confirmed_by_staff(*, booking: Booking, staff_user: User) -> None:
    """Staff confirmed a provisional booking of a service (in the admin): the customer who booked it hears of
    it, with the calendar file updated to a confirmed event."""
    customer = booking.booked_by_customer
    if booking.service_id is None or customer is None or booking.status != Booking.Status.CONFIRMED:
        return
    Booking.objects.filter(pk=booking.pk).update(calendar_sequence=F("calendar_sequence") + 1)
    booking.refresh_from_db(fields=["calendar_sequence"])
    _service_booking_emails(booking, customer, "confirmed", staff_user=staff_user)


def _service_booking_emails(
    booking: Booking,
    customer: Customer,
    what: str,
    *,
    staff_user: User | None = None,
    previous: datetime.datetime | None = None,
) -> None:
    """The customer's email, with the calendar file, and the business's copy at its support address."""
    organisation = booking.organisation
    calendar = booking_calendar(booking, url=booking_url(booking))
    context = {
        "customer": customer,
        "booking": booking,
        "when": booking_moment(booking.starts_at, booking),
        "previous": booking_moment(previous, booking) if previous else "",
        "by_staff": staff_user is not None,
    }
    link = notification_link_make(customer=customer, next_path=booking_path(booking, customer))
    email_enqueue(
        organisation=organisation,
        to=customer.email,
        template=f"bookings/emails/service_{what}",
        context={**context, **link.context()},
        secrets=link.secrets,
        attachments=[calendar],
    )
    if organisation.support_email:
        email_enqueue(
            organisation=organisation,
            to=organisation.support_email,
            template="bookings/emails/service_changed_staff",
            context={
                **context,
                "headline": _TO_CONFIRM
                if what == "booked" and booking.status == "provisional"
                else _STAFF_HEADLINES[what],
                "admin_url": settings.SITE_URL + reverse("admin:bookings_booking_change", args=[booking.pk]),
            },
        )
