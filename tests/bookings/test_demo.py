import io

from bookings.demo import seed_demo
from bookings.models import AddOn, Booking, BookingSettings
from bookings.selectors import past_bookings_for, upcoming_bookings_for
from portal_auth.services import customer_get_or_create


def test_demo_bookings_for_alice_and_bob_with_their_links(organisation):
    out = io.StringIO()
    seed_demo(organisation=organisation, stdout=out)

    assert AddOn.objects.filter(organisation=organisation).count() == 3
    bookings = Booking.objects.filter(organisation=organisation)
    assert bookings.count() == 4
    for booking in bookings:
        assert f"https://portal.example.test/{organisation.slug}/bookings/{booking.reference}/" in out.getvalue()
    alice = customer_get_or_create(organisation=organisation, email="alice@example.com")
    bob = customer_get_or_create(organisation=organisation, email="bob@example.com")
    assert upcoming_bookings_for(alice).exists() and past_bookings_for(alice).exists()
    assert upcoming_bookings_for(bob).exists() and past_bookings_for(bob).exists()
    assert "card you booked with" in BookingSettings.for_organisation(organisation).payment_text
    assert list(organisation.services.values_list("name", flat=True)) == ["Harbour tour", "Private boat trip"]
    assert f"/{organisation.slug}/bookings/book/" in out.getvalue()


def test_demo_adds_nothing_the_second_time(organisation):
    seed_demo(organisation=organisation, stdout=io.StringIO())
    out = io.StringIO()
    seed_demo(organisation=organisation, stdout=out)
    assert Booking.objects.filter(organisation=organisation).count() == 4
    assert AddOn.objects.filter(organisation=organisation).count() == 3
    assert "exist already" in out.getvalue()
