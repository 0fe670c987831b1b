"""Demo data for `manage.py seed_demo`: add-ons and a few bookings for alice@example.com and bob@example.com."""

from datetime import time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from bookings.models import AddOn, Attendee, Booking, BookingAddOn, BookingSettings, OpeningHours, Resource, Service
from bookings.services import booking_url
from portal_auth.models import Organisation

DEMO_ADD_ONS = [
    ("Airport transfer", "A driver meets you at arrivals and takes you to the hotel.", Decimal("45.00")),
    ("Late check-out", "Keep your room until 4 pm on the last day.", Decimal("30.00")),
    ("Travel insurance", "Cancellation, medical and luggage cover for the whole trip.", Decimal("59.90")),
]

# (title, starts in days, lasts days, status, attendees)
DEMO_BOOKINGS = [
    ("Lisbon city break", 21, 4, Booking.Status.CONFIRMED, [("Alice Martin", "alice@example.com")]),
    (
        "Alps walking week",
        75,
        7,
        Booking.Status.PROVISIONAL,
        [("Alice Martin", "alice@example.com"), ("Bob Okafor", "bob@example.com")],
    ),
    ("Porto food tour", -60, 3, Booking.Status.CONFIRMED, [("Bob Okafor", "bob@example.com")]),
    ("Seville weekend", -200, 2, Booking.Status.CONFIRMED, [("Alice Martin", "alice@example.com")]),
]


def seed_demo(*, organisation: Organisation, stdout) -> None:
    if organisation.bookings.exists():
        stdout.write("  Bookings exist already; none added.")
        return
    BookingSettings.objects.get_or_create(
        organisation=organisation,
        defaults={"add_on_payment_text": "Added to your final invoice, paid by the card you booked with."},
    )
    add_ons = [
        AddOn.objects.create(organisation=organisation, name=name, description=description, price=price)
        for name, description, price in DEMO_ADD_ONS
    ]
    today = timezone.localdate()
    for title, starts_in, days, status, attendees in DEMO_BOOKINGS:
        starts_on = today + timedelta(days=starts_in)
        booking = Booking.objects.create(
            organisation=organisation,
            title=title,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days),
            status=status,
            main_contact_name=attendees[0][0],
            main_contact_email=attendees[0][1],
        )
        for name, email in attendees:
            Attendee.objects.create(booking=booking, name=name, email=email)
        if starts_in < 0:
            BookingAddOn.objects.create(
                booking=booking,
                add_on=add_ons[0],
                price=add_ons[0].price,
                currency=add_ons[0].currency,
                booked_by=BookingAddOn.BookedBy.STAFF,
            )
        who = ", ".join(email for _, email in attendees)
        stdout.write(f"  {title} ({who}): {booking_url(booking)}")
    _seed_services(organisation)
    stdout.write(f"  Services customers book themselves: {settings.SITE_URL}/{organisation.slug}/bookings/book/")


def _seed_services(organisation: Organisation) -> None:
    """A harbour tour for up to 12 people and a private guide sharing the same boat, open every day."""
    boat = Resource.objects.create(organisation=organisation, name="The harbour boat")
    for weekday in range(7):
        OpeningHours.objects.create(resource=boat, weekday=weekday, opens=time(9), closes=time(17))
    Service.objects.create(
        organisation=organisation,
        name="Harbour tour",
        description="Ninety minutes around the harbour with a guide.",
        duration=timedelta(minutes=90),
        price=Decimal("25.00"),
        capacity=12,
        resource=boat,
    )
    Service.objects.create(
        organisation=organisation,
        name="Private boat trip",
        description="The boat and its guide for you alone. Confirmed by our team.",
        duration=timedelta(hours=3),
        price=Decimal("240.00"),
        capacity=1,
        resource=boat,
        needs_confirmation=True,
    )
