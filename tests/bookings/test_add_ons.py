import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, BookingAddOn, BookingSettings
from bookings.services import booking_add_on_book, booking_add_on_cancel
from outbox.models import OutboxEmail
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingAddOnFactory
from tests.concurrency import calls_at_once
from tests.conftest import assert_link_signs_in_once, assert_plain_link
from tests.factories import CustomerFactory


def book_url(booking, add_on):
    kwargs = {"org": booking.organisation.slug, "reference": booking.reference, "add_on_id": add_on.pk}
    return reverse("bookings:add_on_book", kwargs=kwargs)


def cancel_url(booking, add_on):
    kwargs = {"org": booking.organisation.slug, "reference": booking.reference, "add_on_id": add_on.pk}
    return reverse("bookings:add_on_cancel", kwargs=kwargs)


def detail_url(booking):
    return reverse("bookings:detail", kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def confirmation(add_on):
    """What the check page's confirm button posts: the price and currency it showed."""
    return {"price": str(add_on.price), "currency": add_on.currency}


@pytest.fixture
def booked(customer, booking, add_on):
    """The customer's add-on, booked through the portal; the booking starts at midnight in 30 days."""
    return BookingAddOn.objects.create(
        booking=booking,
        add_on=add_on,
        price=add_on.price,
        currency=add_on.currency,
        booked_by=BookingAddOn.BookedBy.CUSTOMER,
        booked_by_customer=customer,
    )


def test_the_check_page_shows_the_add_on_its_price_the_booking_and_how_it_is_charged(
    sign_in, customer, booking, add_on
):
    response = sign_in(customer).get(book_url(booking, add_on))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Check and confirm" in page
    assert "Airport transfer" in page and "Lisbon city break" in page
    assert "25.00 EUR" in page
    assert "The business will charge you for it." in page
    assert 'name="price" value="25.00"' in page and 'name="currency" value="EUR"' in page
    assert "Confirm and book for 25.00 EUR" in page
    assert not BookingAddOn.objects.exists()
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_the_check_page_says_how_the_organisation_charges(sign_in, customer, booking, add_on):
    BookingSettings.objects.create(
        organisation=customer.organisation, add_on_payment_text="Paid at the reception on arrival."
    )
    page = sign_in(customer).get(book_url(booking, add_on)).content.decode()
    assert "Paid at the reception on arrival." in page
    assert "The business will charge you for it." not in page


def test_the_booking_page_leads_to_the_check_page_and_books_nothing_itself(sign_in, customer, booking, add_on):
    page = sign_in(customer).get(detail_url(booking)).content.decode()
    assert f'href="{book_url(booking, add_on)}"' in page
    assert 'name="add_on"' not in page  # no form that books in one tap


def test_a_get_of_the_book_url_books_nothing(sign_in, customer, booking, add_on, django_capture_on_commit_callbacks):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert client.get(book_url(booking, add_on)).status_code == 200
    assert not BookingAddOn.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_confirming_books_the_add_on_and_emails_a_confirmation(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(book_url(booking, add_on), confirmation(add_on))

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
    assert "Airport transfer is booked. We&#39;ve emailed you a confirmation." in page
    assert "25.00 EUR" in page


def test_the_confirmation_links_to_the_booking_signing_in_once_where_the_organisation_allows(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    customer.organisation.notification_links_sign_in = True
    customer.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(book_url(booking, add_on), confirmation(add_on))

    [email] = mailoutbox
    assert_link_signs_in_once(email, customer=customer, lands_on=detail_url(booking), link_path="/link/")


def test_without_the_setting_the_confirmation_links_to_the_booking_behind_sign_in(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(book_url(booking, add_on), confirmation(add_on))

    assert_plain_link(mailoutbox[0], path=detail_url(booking))


def test_confirming_twice_books_once_and_emails_once(
    sign_in, customer, booking, add_on, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(book_url(booking, add_on), confirmation(add_on))
        response = client.post(book_url(booking, add_on), confirmation(add_on), follow=True)

    assert BookingAddOn.objects.filter(booking=booking).count() == 1
    assert OutboxEmail.objects.count() == 1
    assert len(mailoutbox) == 1
    assert "Airport transfer was already booked on this booking." in response.content.decode()


def test_a_price_changed_since_the_check_page_is_shown_again_before_anything_is_booked(
    sign_in, customer, booking, add_on
):
    client = sign_in(customer)
    shown = confirmation(add_on)
    add_on.price = Decimal("40.00")
    add_on.save()

    response = client.post(book_url(booking, add_on), shown)

    assert response.status_code == 400
    page = response.content.decode()
    assert "The price of Airport transfer is now 40.00 EUR. Check it and confirm again." in page
    assert 'name="price" value="40.00"' in page
    assert not BookingAddOn.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_a_confirmation_without_the_price_books_nothing(sign_in, customer, booking, add_on):
    response = sign_in(customer).post(book_url(booking, add_on), {})
    assert response.status_code == 400
    assert not BookingAddOn.objects.exists()


def test_another_organisations_add_on_is_not_found(sign_in, customer, booking, other_organisation):
    foreign = AddOnFactory(organisation=other_organisation)
    client = sign_in(customer)
    assert client.get(book_url(booking, foreign)).status_code == 404
    assert client.post(book_url(booking, foreign), confirmation(foreign)).status_code == 404
    assert not BookingAddOn.objects.exists()


def test_an_add_on_no_longer_offered_cannot_be_booked(sign_in, customer, booking, add_on):
    add_on.is_active = False
    add_on.save()
    client = sign_in(customer)
    assert "This add-on is no longer offered." in client.get(book_url(booking, add_on)).content.decode()
    response = client.post(book_url(booking, add_on), confirmation(add_on))
    assert response.status_code == 400
    assert "This add-on is no longer offered." in response.content.decode()
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
    client = sign_in(customer)
    page = client.get(book_url(booking, add_on)).content.decode()
    assert message in page and "Confirm and book" not in page
    response = client.post(book_url(booking, add_on), confirmation(add_on))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BookingAddOn.objects.exists()


def test_a_non_attendee_cannot_book_add_ons(sign_in, organisation, booking, add_on):
    stranger = CustomerFactory(organisation=organisation, email="main.contact@example.com")
    client = sign_in(stranger)
    assert client.get(book_url(booking, add_on)).status_code == 403
    assert client.post(book_url(booking, add_on), confirmation(add_on)).status_code == 403
    assert not BookingAddOn.objects.exists()


def test_anonymous_cannot_book_add_ons_even_when_the_link_alone_opens_the_booking(client, booking, add_on):
    booking.organisation.requires_sign_in = False
    booking.organisation.save()
    response = client.post(book_url(booking, add_on), confirmation(add_on))
    assert response.status_code == 302
    assert "/sign-in/" in response.url
    assert not BookingAddOn.objects.exists()


def test_booking_an_add_on_needs_a_csrf_token(sign_in, customer, booking, add_on):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert client.post(book_url(booking, add_on), confirmation(add_on)).status_code == 403
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
    assert book_url(booking, add_on) in page


def test_the_booking_date_boundary_uses_today(sign_in, customer, make_booking, add_on):
    booking = make_booking(
        customer.organisation,
        customer.email,
        starts_on=timezone.localdate() - datetime.timedelta(3),
        ends_on=timezone.localdate(),
    )
    assert sign_in(customer).post(book_url(booking, add_on), confirmation(add_on)).status_code == 302


# Cancelling


def test_the_cancel_page_asks_for_confirmation_and_cancels_nothing_itself(sign_in, customer, booking, booked):
    client = sign_in(customer)
    assert f'href="{cancel_url(booking, booked.add_on)}"' in client.get(detail_url(booking)).content.decode()

    response = client.get(cancel_url(booking, booked.add_on))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Cancel Airport transfer?" in page and "25.00 EUR" in page
    deadline = timezone.localtime(booked.booking.starts_at - datetime.timedelta(hours=48))
    assert f"{deadline.day} {deadline:%b %Y}, 00:00" in page
    booked.refresh_from_db()
    assert not booked.is_cancelled


def test_cancelling_within_the_window_cancels_the_line_only_and_emails_once(
    sign_in, customer, booking, booked, mailoutbox, django_capture_on_commit_callbacks
):
    other_line = BookingAddOnFactory(booking=booking)
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(booking, booked.add_on))

    assert response.status_code == 302
    assert response.url == detail_url(booking)
    booked.refresh_from_db()
    assert booked.is_cancelled
    assert booked.cancelled_by == BookingAddOn.CancelledBy.CUSTOMER
    assert booked.cancelled_by_customer == customer
    other_line.refresh_from_db()
    assert not other_line.is_cancelled
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [customer.email]
    assert email.subject == "Cancelled: Airport transfer for Lisbon city break"
    assert "Airport transfer (25.00 EUR) is cancelled on Lisbon city break" in email.body
    assert f"https://portal.example.test{detail_url(booking)}" in email.alternatives[0].content

    response = client.get(response.url)
    page = response.content.decode()
    assert "Airport transfer is cancelled. We&#39;ve emailed you a confirmation." in page
    assert [a.name for a in response.context["booked_add_ons"]] == [other_line.add_on.name]
    assert "Airport transfer" in [a.name for a in response.context["offered_add_ons"]]


def test_the_cancellation_links_to_the_booking_signing_in_once_where_the_organisation_allows(
    sign_in, customer, booking, booked, mailoutbox, django_capture_on_commit_callbacks
):
    customer.organisation.notification_links_sign_in = True
    customer.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(cancel_url(booking, booked.add_on))

    [email] = mailoutbox
    assert_link_signs_in_once(email, customer=customer, lands_on=detail_url(booking), link_path="/link/")


def test_without_the_setting_the_cancellation_links_to_the_booking_behind_sign_in(
    sign_in, customer, booking, booked, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(cancel_url(booking, booked.add_on))

    assert_plain_link(mailoutbox[0], path=detail_url(booking))


def test_a_cancelled_add_on_can_be_booked_again_on_a_new_line(
    sign_in, customer, booking, booked, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(booking, booked.add_on))
        assert client.post(book_url(booking, booked.add_on), confirmation(booked.add_on)).status_code == 302
        assert client.post(cancel_url(booking, booked.add_on)).status_code == 302

    lines = BookingAddOn.objects.filter(booking=booking, add_on=booked.add_on)
    assert lines.count() == 2 and all(line.is_cancelled for line in lines)
    assert OutboxEmail.objects.filter(subject__startswith="Booked:").count() == 1
    assert OutboxEmail.objects.filter(subject__startswith="Cancelled:").count() == 2


def test_cancelling_a_cancelled_add_on_again_changes_nothing(
    sign_in, customer, booking, booked, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(cancel_url(booking, booked.add_on))
        again = client.post(cancel_url(booking, booked.add_on))

    assert again.status_code == 404
    assert OutboxEmail.objects.count() == 1
    booked.refresh_from_db()
    assert booked.is_cancelled


def test_at_the_windows_edge_cancelling_is_refused_with_how_to_reach_the_business(sign_in, customer, booking, booked):
    customer.organisation.support_phone = "+351 21 000 0000"
    customer.organisation.save()
    deadline = booking.starts_at - datetime.timedelta(hours=48)

    with time_machine.travel(deadline, tick=False):
        client = sign_in(customer)  # the portal session lasts a day: opened at the moment tested
        page = client.get(cancel_url(booking, booked.add_on)).content.decode()
        response = client.post(cancel_url(booking, booked.add_on))
        booking_page = client.get(detail_url(booking)).content.decode()

    assert response.status_code == 400
    for shown in (page, response.content.decode()):
        assert "Add-ons on this booking could be cancelled online until" in shown
        assert "mailto:help@voyages.example" in shown and "tel:+351 21 000 0000" in shown
        assert "<button" not in shown.split("Cancel Airport transfer?")[1]
    assert cancel_url(booking, booked.add_on) not in booking_page
    assert "It could be cancelled online until" in booking_page
    booked.refresh_from_db()
    assert not booked.is_cancelled
    assert not OutboxEmail.objects.exists()


def test_a_second_before_the_windows_edge_cancelling_works(sign_in, customer, booking, booked):
    deadline = booking.starts_at - datetime.timedelta(hours=48)
    with time_machine.travel(deadline - datetime.timedelta(seconds=1), tick=False):
        client = sign_in(customer)
        assert cancel_url(booking, booked.add_on) in client.get(detail_url(booking)).content.decode()
        assert client.post(cancel_url(booking, booked.add_on)).status_code == 302
    booked.refresh_from_db()
    assert booked.cancelled_at == deadline - datetime.timedelta(seconds=1)


def test_the_organisations_notice_and_the_bookings_own_set_the_window(sign_in, customer, booking, booked):
    BookingSettings.objects.create(organisation=customer.organisation, add_on_cancellation_notice=datetime.timedelta(0))
    with time_machine.travel(booking.starts_at - datetime.timedelta(hours=1), tick=False):
        client = sign_in(customer)
        assert "You can cancel it until" in client.get(detail_url(booking)).content.decode()
        Booking.objects.filter(pk=booking.pk).update(add_on_cancellation_notice=datetime.timedelta(days=7))
        assert client.post(cancel_url(booking, booked.add_on)).status_code == 400
    booked.refresh_from_db()
    assert not booked.is_cancelled


def test_another_attendee_cannot_cancel_an_add_on_they_did_not_book(sign_in, organisation, booking, booked):
    fellow = CustomerFactory(organisation=organisation, email="fellow@example.com")
    AttendeeFactory(booking=booking, email=fellow.email)
    client = sign_in(fellow)

    assert cancel_url(booking, booked.add_on) not in client.get(detail_url(booking)).content.decode()
    response = client.post(cancel_url(booking, booked.add_on))

    assert response.status_code == 403
    assert "Only the person who booked this add-on can cancel it online." in response.content.decode()
    booked.refresh_from_db()
    assert not booked.is_cancelled
    assert not OutboxEmail.objects.exists()


def test_a_customer_not_on_the_booking_cannot_cancel(sign_in, organisation, other_organisation, booking, booked):
    stranger = CustomerFactory(organisation=organisation)
    assert sign_in(stranger).post(cancel_url(booking, booked.add_on)).status_code == 403
    elsewhere = CustomerFactory(organisation=other_organisation, email=booked.booked_by_customer.email)
    kwargs = {"org": other_organisation.slug, "reference": booking.reference, "add_on_id": booked.add_on_id}
    assert sign_in(elsewhere).post(reverse("bookings:add_on_cancel", kwargs=kwargs)).status_code == 404
    booked.refresh_from_db()
    assert not booked.is_cancelled


def test_an_add_on_staff_booked_cannot_be_cancelled_by_a_customer(sign_in, customer, booking, add_on):
    line = BookingAddOnFactory(booking=booking, add_on=add_on)
    response = sign_in(customer).post(cancel_url(booking, add_on))
    assert response.status_code == 403
    line.refresh_from_db()
    assert not line.is_cancelled


def test_cancelling_an_add_on_needs_a_csrf_token(sign_in, customer, booking, booked):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert client.post(cancel_url(booking, booked.add_on)).status_code == 403
    booked.refresh_from_db()
    assert not booked.is_cancelled


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_confirming_at_once_from_many_tabs_books_once_and_emails_once(make_booking):
    customer = CustomerFactory()
    booking = make_booking(customer.organisation, customer.email)
    add_on = AddOnFactory(organisation=customer.organisation)

    _answers, errors = calls_at_once(6, lambda: booking_add_on_book(booking=booking, add_on=add_on, customer=customer))

    assert errors == []
    assert BookingAddOn.objects.filter(booking=booking, cancelled_at__isnull=True).count() == 1
    assert OutboxEmail.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_cancelling_at_once_from_many_tabs_cancels_once_and_emails_once(make_booking):
    customer = CustomerFactory()
    booking = make_booking(customer.organisation, customer.email)
    line, _ = booking_add_on_book(
        booking=booking, add_on=AddOnFactory(organisation=customer.organisation), customer=customer
    )
    OutboxEmail.objects.all().delete()

    _answers, errors = calls_at_once(6, lambda: booking_add_on_cancel(line=line, customer=customer))

    assert errors == []
    line.refresh_from_db()
    assert line.is_cancelled
    assert OutboxEmail.objects.count() == 1


def test_the_cancel_deadline_is_shown_in_the_organisations_time_zone_and_names_it(sign_in, customer, booking, booked):
    from zoneinfo import ZoneInfo

    from bookings.services import booking_add_on_cancellation_deadline

    organisation = booking.organisation
    organisation.time_zone = "Pacific/Auckland"
    organisation.save()
    with timezone.override(ZoneInfo("Pacific/Auckland")):  # as the page works: the first day's midnight there
        deadline = booking_add_on_cancellation_deadline(booking=booking).astimezone(ZoneInfo("Pacific/Auckland"))
    shown = f"{deadline.day} {deadline:%b %Y}, {deadline:%H:%M}</time> (Pacific/Auckland time)"
    client = sign_in(customer)

    assert shown in client.get(cancel_url(booking, booked.add_on)).content.decode()
    assert shown in client.get(detail_url(booking)).content.decode()


def test_the_page_asks_for_add_ons_only_where_the_organisation_has_any(sign_in, customer, booking):
    client = sign_in(customer)

    def add_on_statements() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(detail_url(booking)).content.decode()
        return page, [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "bookings_addon".')]

    page, statements = add_on_statements()
    assert statements == [] and "No add-ons booked." in page
    # One no longer offered, but booked on this booking: still the booking's, still shown.
    retired = AddOnFactory(organisation=customer.organisation, name="Late checkout", is_active=False)
    BookingAddOnFactory(booking=booking, add_on=retired)
    page, statements = add_on_statements()
    assert len(statements) == 1 and "Late checkout" in page
