import datetime

import pytest

from bookings.models import Attendee, Booking


@pytest.fixture
def attendee_email(organisation):
    """An email that is an attendee's on a booking of `organisation`, with no customer record yet."""
    booking = Booking.objects.create(
        organisation=organisation,
        title="Lisbon city break",
        starts_on=datetime.date(2027, 5, 1),
        ends_on=datetime.date(2027, 5, 4),
    )
    Attendee.objects.create(booking=booking, name="Ana Sousa", email="Ana.Sousa@Example.com")
    return "ana.sousa@example.com"
