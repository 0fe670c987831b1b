import base64
import re

import pytest
from django.core.exceptions import ValidationError

from bookings.models import Attendee, new_booking_reference
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingAddOnFactory, BookingFactory


def test_reference_carries_128_random_bits_in_url_safe_characters():
    reference = new_booking_reference()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", reference)
    assert len(base64.urlsafe_b64decode(reference + "==")) == 16


def test_references_do_not_repeat():
    assert len({new_booking_reference() for _ in range(5000)}) == 5000


def test_each_booking_gets_its_own_reference_which_is_not_its_primary_key(db):
    first, second = BookingFactory(), BookingFactory()
    assert first.reference != second.reference
    assert len(first.reference) == 22
    assert str(first.pk) != first.reference


def test_attendee_email_is_normalised(db):
    attendee = AttendeeFactory(email="  Alice.Martin@Example.COM ")
    assert Attendee.objects.get(pk=attendee.pk).email == "alice.martin@example.com"


def test_a_booking_cannot_end_before_it_starts(db):
    booking = BookingFactory.build(organisation=BookingFactory().organisation)
    booking.ends_on = booking.starts_on.replace(year=booking.starts_on.year - 1)
    with pytest.raises(ValidationError, match="can't end before it starts"):
        booking.full_clean()


def test_add_on_of_another_organisation_cannot_be_booked(db):
    line = BookingAddOnFactory.build(booking=BookingFactory(), add_on=AddOnFactory())
    with pytest.raises(ValidationError, match="another organisation"):
        line.full_clean()


def test_prices_show_with_their_currency(db):
    add_on = AddOnFactory(price="1234.5", currency="GBP")
    add_on.refresh_from_db()
    assert add_on.price_display == "1,234.50 GBP"
