"""Whose cached pages a write in the bookings app makes stale: every customer with an attendee's email."""

from bookings.models import (
    AddOn,
    Attendee,
    AvailabilityException,
    Booking,
    BookingAddOn,
    BookingDocument,
    BookingSettings,
    OpeningHours,
    Resource,
    Service,
)
from portal_auth.models import Customer
from portal_auth.page_cache import customers_scopes, organisation_scope
from portal_core import page_cache


def booking_scopes(booking: Booking) -> list[str]:
    # The rule of bookings_for: an attendee's email is the customer's, in the booking's organisation.
    attendees = Customer.objects.filter(
        organisation_id=booking.organisation_id,
        email__in=Attendee.objects.filter(booking_id=booking.pk).exclude(email="").values("email"),
    )
    return customers_scopes(attendees.values_list("pk", flat=True))


def bookable_scope(organisation_id: int) -> list[str]:
    """What every customer of the organisation may book and when: the booking pages' own scope, so a booking
    made by one customer makes the free times everyone sees stale without touching their other pages."""
    return [f"bookable:{organisation_id}"]


def _booking_scopes(booking: Booking) -> list[str]:
    # A booking of a service also changes the free times of its resource.
    scopes = booking_scopes(booking)
    if booking.resource_id is not None:
        scopes += bookable_scope(booking.organisation_id)
    return scopes


def _bookable(instance: Service | Resource) -> list[str]:
    # Staff's edits, rare: a service's name, notice and cancellation terms also show on My bookings ("Book a
    # service") and on each booking's page, which the organisation's scope covers.
    return [*bookable_scope(instance.organisation_id), organisation_scope(instance.organisation_id)]


def _resource_hours(instance: OpeningHours | AvailabilityException) -> list[str]:
    return bookable_scope(instance.resource.organisation_id)


def _attendee_scopes(attendee: Attendee) -> list[str]:
    # Also this attendee's own customer, should the row be gone already (deleted with its booking).
    own = Customer.objects.filter(organisation_id=attendee.booking.organisation_id, email=attendee.email)
    return [*booking_scopes(attendee.booking), *customers_scopes(own.values_list("pk", flat=True))]


def _organisation_wide(instance: AddOn | BookingSettings) -> list[str]:
    return [organisation_scope(instance.organisation_id)]


def watch() -> None:
    # Previous: a booking moved to another time frees its old place.
    page_cache.watch(Booking, _booking_scopes, previous=True)
    page_cache.watch(Service, _bookable)
    page_cache.watch(Resource, _bookable)
    page_cache.watch(OpeningHours, _resource_hours)
    page_cache.watch(AvailabilityException, _resource_hours)
    # Previous: an attendee whose email changes leaves the old email's customer too.
    page_cache.watch(Attendee, _attendee_scopes, previous=True)
    page_cache.watch(BookingAddOn, lambda booked: booking_scopes(booked.booking))
    page_cache.watch(BookingDocument, lambda document: booking_scopes(document.booking))
    page_cache.watch(AddOn, _organisation_wide)
    page_cache.watch(BookingSettings, _organisation_wide)
