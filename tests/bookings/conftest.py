import pytest

from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingFactory


@pytest.fixture
def make_booking():
    """A booking of `organisation`, with the given attendee emails (and one stranger, who must stay private)."""

    def _make(organisation, *emails, **fields):
        booking = BookingFactory(organisation=organisation, **fields)
        for email in emails:
            AttendeeFactory(booking=booking, email=email)
        AttendeeFactory(booking=booking, name="Other Traveller", email="other.traveller@example.com")
        return booking

    return _make


@pytest.fixture
def booking(customer, make_booking):
    """An upcoming booking on which the signed-in customer is an attendee."""
    return make_booking(customer.organisation, customer.email, title="Lisbon city break")


@pytest.fixture
def add_on(organisation):
    return AddOnFactory(organisation=organisation, name="Airport transfer")


@pytest.fixture
def bookable(organisation):
    """A class for up to 12 people, an hour a slot from 09:00 to 12:00 every day, in London."""
    from tests.bookings.factories import ServiceFactory, open_every_day

    organisation.time_zone = "Europe/London"
    organisation.support_email = "desk@voyages.example"
    organisation.save()
    service = ServiceFactory(organisation=organisation, name="Harbour tour", capacity=12)
    open_every_day(service.resource)
    return service
