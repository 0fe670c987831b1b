import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingAddOn
from outbox.models import OutboxEmail
from tests.bookings.factories import AddOnFactory
from tests.conftest import assert_link_signs_in_once, assert_plain_link
from tests.factories import CustomerFactory


def book_url(booking):
    return reverse("bookings:add_on_book", kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def detail_url(booking):
    return reverse("bookings:detail", kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def test_booking_an_add_on_records_it_and_emails_a_confirmation(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(book_url(booking), {"add_on": add_on.pk})

    assert response.status_code == 302
    assert response.url == detail_url(booking)
    line = BookingAddOn.objects.get(booking=booking)
    assert line.add_on == add_on
    assert line.booked_by == BookingAddOn.BookedBy.CUSTOMER
    assert line.booked_by_customer == customer
    assert (line.price, line.currency) == (add_on.price, "EUR")
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [customer.email]
    assert "Airport transfer" in email.subject and "Lisbon city break" in email.subject
    assert f"https://portal.example.test{detail_url(booking)}" in email.body
    assert f"https://portal.example.test{detail_url(booking)}" in email.alternatives[0].content

    page = client.get(response.url).content.decode()
    assert "Airport transfer is booked. We&#x27;ve emailed you a confirmation." in page
    assert "25.00 EUR" in page


def test_the_confirmation_links_to_the_booking_signing_in_once_where_the_organisation_allows(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    customer.organisation.notification_links_sign_in = True
    customer.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(book_url(booking), {"add_on": add_on.pk})

    [email] = mailoutbox
    assert_link_signs_in_once(email, customer=customer, lands_on=detail_url(booking), link_path="/link/")


def test_without_the_setting_the_confirmation_links_to_the_booking_behind_sign_in(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(book_url(booking), {"add_on": add_on.pk})

    assert_plain_link(mailoutbox[0], path=detail_url(booking))


def test_booking_the_same_add_on_twice_changes_nothing(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(book_url(booking), {"add_on": add_on.pk})
        response = client.post(book_url(booking), {"add_on": add_on.pk}, follow=True)

    assert BookingAddOn.objects.filter(booking=booking).count() == 1
    assert OutboxEmail.objects.count() == 1
    assert len(mailoutbox) == 1
    assert "Airport transfer was already booked on this booking." in response.content.decode()


def test_another_organisations_add_on_cannot_be_booked(sign_in, customer, booking, other_organisation):
    foreign = AddOnFactory(organisation=other_organisation)
    response = sign_in(customer).post(book_url(booking), {"add_on": foreign.pk})
    assert response.status_code == 400
    assert "This add-on is no longer offered." in response.content.decode()
    assert not BookingAddOn.objects.exists()


def test_an_add_on_no_longer_offered_cannot_be_booked(sign_in, customer, booking, add_on):
    add_on.is_active = False
    add_on.save()
    response = sign_in(customer).post(book_url(booking), {"add_on": add_on.pk})
    assert response.status_code == 400
    assert not BookingAddOn.objects.exists()
    assert OutboxEmail.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": Booking.Status.CANCELLED}, "This booking is cancelled"),
        ({"starts_on": datetime.date(2020, 1, 1), "ends_on": datetime.date(2020, 1, 3)}, "This booking has ended"),
    ],
)
def test_no_add_ons_on_cancelled_or_ended_bookings(sign_in, customer, booking, add_on, change, message):
    Booking.objects.filter(pk=booking.pk).update(**change)
    response = sign_in(customer).post(book_url(booking), {"add_on": add_on.pk})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BookingAddOn.objects.exists()


def test_a_non_attendee_cannot_book_add_ons(sign_in, organisation, booking, add_on):
    stranger = CustomerFactory(organisation=organisation, email="main.contact@example.com")
    response = sign_in(stranger).post(book_url(booking), {"add_on": add_on.pk})
    assert response.status_code == 403
    assert not BookingAddOn.objects.exists()


def test_anonymous_cannot_book_add_ons_even_when_the_link_alone_opens_the_booking(client, booking, add_on):
    booking.organisation.requires_sign_in = False
    booking.organisation.save()
    response = client.post(book_url(booking), {"add_on": add_on.pk})
    assert response.status_code == 302
    assert "/sign-in/" in response.url
    assert not BookingAddOn.objects.exists()


def test_a_get_leads_back_to_the_booking(sign_in, customer, booking):
    response = sign_in(customer).get(book_url(booking))
    assert response.status_code == 302
    assert response.url == detail_url(booking)


def test_booking_an_add_on_needs_a_csrf_token(sign_in, customer, booking, add_on):
    from django.test import Client

    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert client.post(book_url(booking), {"add_on": add_on.pk}).status_code == 403
    assert not BookingAddOn.objects.exists()


def test_the_booking_page_offers_active_add_ons_and_lists_booked_ones(sign_in, customer, booking, add_on):
    AddOnFactory(organisation=customer.organisation, name="Retired extra", is_active=False)
    AddOnFactory(name="Other organisation's extra")
    BookingAddOn.objects.create(
        booking=booking,
        add_on=AddOnFactory(organisation=customer.organisation, name="Late check-out", price="30"),
        price="28.00",
        currency="EUR",
        booked_by=BookingAddOn.BookedBy.STAFF,
    )
    response = sign_in(customer).get(detail_url(booking))
    assert [a.name for a in response.context["booked_add_ons"]] == ["Late check-out"]
    assert [a.name for a in response.context["offered_add_ons"]] == ["Airport transfer"]
    page = response.content.decode()
    assert "28.00 EUR" in page  # the price it was booked at
    assert "Retired extra" not in page and "Other organisation" not in page
    assert f'value="{add_on.pk}"' in page


def test_the_booking_date_boundary_uses_today(sign_in, customer, make_booking, add_on):
    booking = make_booking(
        customer.organisation,
        customer.email,
        starts_on=timezone.localdate() - datetime.timedelta(3),
        ends_on=timezone.localdate(),
    )
    assert sign_in(customer).post(book_url(booking), {"add_on": add_on.pk}).status_code == 302
