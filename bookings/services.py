"""Writes of the bookings app: atomic, with their emails recorded in the same transaction."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from bookings.models import AddOn, Attendee, Booking, BookingAddOn, BookingDocument, BookingSettings
from outbox.services import email_enqueue
from portal_auth.doors.access_link.services import notification_link_make
from portal_auth.models import Customer
from portal_auth.services import customer_get_or_create, customer_password_reset_by_staff
from portal_core.origin import ClientOrigin
from portal_core.uploads import (
    FileKind,
    delete_files_on_commit,
    files_removed_unless_committed,
    stored_upload_save,
)


def booking_path(booking: Booking) -> str:
    return reverse("bookings:detail", kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def booking_url(booking: Booking) -> str:
    """The booking's portal link, absolute: for emails, admin and demo data."""
    return settings.SITE_URL + booking_path(booking)


@transaction.atomic
def booking_add_on_book(*, booking: Booking, add_on: AddOn, customer: Customer) -> tuple[BookingAddOn, bool]:
    """Book `add_on` on `booking` for the customer; booking it again changes nothing and sends nothing.

    Returns the booking line and whether it was created now.
    """
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
        link = notification_link_make(customer=customer, next_path=booking_path(booking))
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
    locked = BookingAddOn.objects.select_for_update().select_related("add_on", "booking__organisation").get(pk=line.pk)
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
    link = notification_link_make(customer=customer, next_path=booking_path(booking))
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
        locked = BookingAddOn.objects.select_for_update().select_related("booking__organisation").get(pk=line.pk)
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


@transaction.atomic
def bookings_delete(*, bookings: QuerySet[Booking]) -> None:
    """Delete bookings with all they hold, and their documents' files once the rows are surely gone."""
    files = [document.file for document in BookingDocument.objects.filter(booking__in=bookings)]
    bookings.delete()
    delete_files_on_commit(files)
