"""Writes of the bookings app: atomic, with their emails recorded in the same transaction."""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from bookings.models import AddOn, Attendee, Booking, BookingAddOn, BookingDocument
from outbox.services import email_enqueue
from portal_auth.access_links import notification_link_make
from portal_auth.models import Customer
from portal_auth.services import customer_get_or_create, customer_password_reset_by_staff
from portal_auth.uploads import FileKind, delete_files_on_commit, files_removed_unless_committed


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


@transaction.atomic
def booking_add_ons_save_by_staff(
    *, lines: Iterable[BookingAddOn], deleted: Iterable[BookingAddOn], staff_user: AbstractBaseUser
) -> None:
    """Staff's add-on changes in the admin: a new line is booked by them, at the add-on's current price."""
    for line in lines:
        if line.pk is None:
            line.price, line.currency = line.add_on.price, line.add_on.currency
            line.booked_by, line.booked_by_staff = BookingAddOn.BookedBy.STAFF, staff_user
        line.save()
    for line in deleted:
        line.delete()


def booking_document_upload(
    *, booking: Booking, customer: Customer, file: UploadedFile, kind: FileKind
) -> BookingDocument:
    """Store a customer's file (already checked by content) for the booking; no file stays if the row fails."""
    with files_removed_unless_committed() as written, transaction.atomic():
        document = BookingDocument(
            booking=booking,
            uploaded_by=customer,
            original_name=file.name[-200:],
            content_type=kind.content_type,
            size=file.size,
        )
        document.file.save(file.name, file, save=False)
        written.append(document.file)
        document.save()
    return document


@transaction.atomic
def attendee_portal_password_set(
    *, request: HttpRequest, attendee: Attendee, password: str, staff_user: AbstractBaseUser
) -> Customer:
    """Staff set the portal password of the attendee's email, creating that customer if needed."""
    customer = customer_get_or_create(
        organisation=attendee.booking.organisation, email=attendee.email, name=attendee.name
    )
    customer_password_reset_by_staff(request=request, customer=customer, password=password, staff_user=staff_user)
    return customer


@transaction.atomic
def bookings_delete(*, bookings: QuerySet[Booking]) -> None:
    """Delete bookings with all they hold, and their documents' files once the rows are surely gone."""
    files = [document.file for document in BookingDocument.objects.filter(booking__in=bookings)]
    bookings.delete()
    delete_files_on_commit(files)


@transaction.atomic
def booking_documents_delete(*, documents: QuerySet[BookingDocument]) -> None:
    """Delete documents, and their files once the rows are surely gone."""
    files = [document.file for document in documents]
    documents.delete()
    delete_files_on_commit(files)
