"""A customer books a class for two in a real browser, gets its email with the calendar file from a real SMTP
server, finds it in My bookings, moves it and cancels it, at desktop and phone widths."""

import datetime
import re

import icalendar
import pytest

from bookings.models import Booking
from tests.bookings.factories import ServiceFactory, open_every_day
from tests.e2e.conftest import check_page
from tests.factories import CustomerFactory


@pytest.fixture
def harbour_tour(organisation):
    organisation.time_zone = "Europe/London"
    organisation.support_email = "desk@voyages.example"
    organisation.save()
    service = ServiceFactory(
        organisation=organisation, name="Harbour tour", description="An hour around the harbour.", capacity=12
    )
    open_every_day(service.resource, closes=datetime.time(17))
    return service


def _signed_in(page, live_server, customer, sign_in, settings):
    client = sign_in(customer)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def _calendar_of(message) -> icalendar.Calendar:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            return icalendar.Calendar.from_ical(content if isinstance(content, str) else content.decode())
    raise AssertionError("no calendar file attached")


def test_a_customer_books_a_class_for_two_moves_it_and_cancels_it(
    page, live_server, smtp_server, harbour_tour, sign_in, settings
):
    organisation = harbour_tour.organisation
    slug = organisation.slug
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", name="Alice Martin")
    _signed_in(page, live_server, customer, sign_in, settings)

    page.goto(f"{live_server.url}/{slug}/bookings/")
    page.get_by_role("link", name="Book a service").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/book/")
    check_page(page, "self-booking-1-services")

    page.get_by_role("link", name="Harbour tour").click()
    assert "Europe/London time" in page.locator("main").inner_text()
    check_page(page, "self-booking-2-days")
    # Two days ahead and later: changes stay free for 24 hours before the start, whatever the time of the run.
    page.locator(".day-list a").nth(2).click()
    check_page(page, "self-booking-3-times")
    assert "12 places left" in page.locator("main").inner_text()
    page.locator(".time-list a").first.click()

    check_page(page, "self-booking-4-details")
    page.get_by_label("How many people?").select_option("2")
    page.get_by_label("Anything we should know?").fill("We'd like seats at the front.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/book/check/")
    main = page.locator("main").inner_text()
    assert "Harbour tour" in main and "We'd like seats at the front." in main
    check_page(page, "self-booking-5-check")

    # The back link returns to the previous choice, with the answers kept.
    page.get_by_role("link", name="← Your details").click()
    assert page.get_by_label("How many people?").input_value() == "2"
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()

    booking = Booking.objects.get(service=harbour_tour)
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/{booking.reference}/")
    assert f"Your reference is {booking.reference}" in page.locator(".messages").inner_text()
    check_page(page, "self-booking-6-confirmed")

    (email,) = [m for m in smtp_server.messages_to("alice@example.com") if "Booked" in str(m["Subject"])]
    event = next(iter(_calendar_of(email).walk("VEVENT")))
    assert event.decoded("dtstart") == booking.slot_starts_at
    assert str(event["dtstart"].params["TZID"]) == "Europe/London"
    assert any("desk@voyages.example" in str(m["To"]) for m in smtp_server.messages)

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="My bookings").click()
    assert "Harbour tour" in page.get_by_role("region", name="Upcoming").inner_text()
    page.get_by_role("link", name="Harbour tour").click()

    page.get_by_role("link", name="Change time…").click()
    check_page(page, "self-booking-7-move-days")
    page.locator(".day-list a").nth(3).click()
    page.locator(".time-list a").nth(2).click()
    check_page(page, "self-booking-8-move-check")
    page.get_by_role("button", name="Move my booking").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/{booking.reference}/")
    assert "has moved" in page.locator(".messages").inner_text()
    previous = booking.slot_starts_at
    booking.refresh_from_db()
    assert booking.slot_starts_at != previous and booking.calendar_sequence == 1

    page.get_by_role("link", name="Cancel booking…").click()
    check_page(page, "self-booking-9-cancel")
    page.get_by_role("button", name="Yes, cancel it").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/{booking.reference}/")
    assert "is cancelled" in page.locator(".messages").inner_text()
    check_page(page, "self-booking-10-cancelled")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    # A subject too long for the first line is folded onto the next one whole: a reader sees it without that space.
    subjects = [str(m["Subject"]).strip() for m in smtp_server.messages_to("alice@example.com")]
    assert any(re.match(r"Moved:", s) for s in subjects) and any(s.startswith("Cancelled:") for s in subjects)


def test_answers_changed_in_another_tab_are_shown_before_anything_is_booked(
    page, live_server, harbour_tour, sign_in, settings
):
    organisation = harbour_tour.organisation
    slug = organisation.slug
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", name="Alice Martin")
    _signed_in(page, live_server, customer, sign_in, settings)
    page.goto(f"{live_server.url}/{slug}/bookings/book/{harbour_tour.pk}/")
    page.locator(".day-list a").nth(2).click()
    page.locator(".time-list a").first.click()
    details = page.url
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/book/check/")

    other_tab = page.context.new_page()
    other_tab.goto(details)
    other_tab.get_by_label("How many people?").select_option("3")
    other_tab.get_by_role("button", name="Continue").click()
    other_tab.wait_for_url(f"{live_server.url}/{slug}/bookings/book/check/")
    other_tab.close()
    page.get_by_role("button", name="Confirm booking").click()

    summary = page.locator(".error-summary")
    assert "Your answers changed in another window" in summary.inner_text()
    assert "Confirm booking for 120.00 EUR" in page.locator("main").inner_text()  # 3 people at 40.00
    assert not Booking.objects.exists()
    check_page(page, "self-booking-answers-changed")
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_url(re.compile(rf"/{slug}/bookings/[\w-]+/$"))
    assert Booking.objects.get().places == 3
