"""A customer's whole way through a booking link, in a real browser at desktop and phone widths."""

import re

import pytest
from playwright.sync_api import expect

from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingFactory
from tests.conftest import link_in
from tests.e2e.conftest import check_page
from tests.factories import CustomerFactory
from tests.smtp import text_of

PASSWORD = "a long and quite memorable phrase"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def booking(organisation):
    booking = BookingFactory(organisation=organisation, title="Lisbon city break")
    AttendeeFactory(booking=booking, name="Alice Martin", email="alice@example.com")
    AttendeeFactory(booking=booking, name="Bob Okafor", email="bob@example.com")
    AddOnFactory(organisation=organisation, name="Airport transfer", description="A driver meets you at arrivals.")
    return booking


def _email_to(smtp_server, address: str, subject_contains: str):
    messages = [m for m in smtp_server.messages_to(address) if subject_contains in str(m["Subject"])]
    assert messages, (
        f"No email to {address} about {subject_contains!r}: {[str(m['Subject']) for m in smtp_server.messages]}"
    )
    return messages[-1]


def test_customer_opens_booking_link_assigns_password_books_add_on_and_uploads(page, live_server, smtp_server, booking):
    slug = booking.organisation.slug
    booking_link = f"{live_server.url}/{slug}/bookings/{booking.reference}/"

    page.goto(booking_link)
    page.wait_for_url(re.compile(rf"/{slug}/sign-in/\?next="))
    assert "Lisbon city break" not in page.content()
    check_page(page, "bookings-1-sign-in")

    page.get_by_role("link", name="Assign a password").click()
    page.wait_for_url(re.compile(rf"/{slug}/password/\?next="))
    check_page(page, "bookings-2-password-request")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Email me a link").click()
    page.wait_for_url(f"{live_server.url}/{slug}/password/sent/")
    check_page(page, "bookings-3-password-link-sent")

    email = _email_to(smtp_server, "alice@example.com", "password")
    page.goto(link_in(text_of(email), "/password/link/"))
    page.wait_for_url(f"{live_server.url}/{slug}/password/set/")
    check_page(page, "bookings-4-password-set")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(re.compile(rf"/{slug}/sign-in/"))
    check_page(page, "bookings-5-sign-in-after-password")

    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Back where the customer started, though the password detour went through their mailbox.
    page.wait_for_url(booking_link)
    check_page(page, "bookings-6-booking-after-sign-in")

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="My bookings").click()
    page.wait_for_url(f"{live_server.url}/{slug}/bookings/")
    assert "Lisbon city break" in page.get_by_role("region", name="Upcoming").inner_text()
    check_page(page, "bookings-6b-my-bookings")

    page.get_by_role("link", name="Lisbon city break").click()
    page.wait_for_url(booking_link)
    main = page.locator("main")
    assert "Alice Martin" in main.inner_text() and "Bob Okafor" in main.inner_text()
    assert "bob@example.com" not in main.inner_text()
    check_page(page, "bookings-7-booking")

    page.get_by_role("link", name="Book Airport transfer").click()
    page.wait_for_url(re.compile(r"/add-ons/\d+/book/$"))
    assert "Check and confirm" in page.locator("h1").inner_text()
    assert "25.00 EUR" in page.locator("main").inner_text()
    assert "The business will charge you for it." in page.locator("main").inner_text()
    check_page(page, "bookings-7b-add-on-check")
    page.get_by_role("button", name="Confirm and book for 25.00 EUR").click()
    page.wait_for_url(booking_link)
    assert "Airport transfer is booked" in page.locator(".messages").inner_text()
    assert "Booked" in page.get_by_role("list", name="Booked add-ons").inner_text()
    assert "Lisbon city break" in str(
        _email_to(smtp_server, "alice@example.com", "Booked: Airport transfer")["Subject"]
    )
    check_page(page, "bookings-8-add-on-booked")

    page.get_by_role("link", name="Cancel Airport transfer").click()
    page.wait_for_url(re.compile(r"/add-ons/\d+/cancel/$"))
    check_page(page, "bookings-8b-add-on-cancel-check")
    page.get_by_role("button", name="Cancel Airport transfer").click()
    page.wait_for_url(booking_link)
    assert "Airport transfer is cancelled" in page.locator(".messages").inner_text()
    assert page.get_by_role("list", name="Booked add-ons").count() == 0
    _email_to(smtp_server, "alice@example.com", "Cancelled: Airport transfer")

    page.get_by_label("Document", exact=True).set_input_files(
        files=[{"name": "passport.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Upload document").click()
    page.wait_for_url(booking_link)
    assert "“passport.pdf” is uploaded." in page.locator(".messages").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="passport.pdf").click()
    assert download.value.suggested_filename == "passport.pdf"
    check_page(page, "bookings-9-document-uploaded")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/{slug}/sign-in/")
    assert "You have signed out." in page.locator(".messages").inner_text()
    # Said to a screen reader, as a status region that changes after the page loaded; the focus left where it was.
    expect(page.locator("body > [role=status].visually-hidden")).to_have_text("You have signed out.")
    expect(page.get_by_label("Email")).to_be_focused()
    check_page(page, "bookings-10-signed-out")

    page.goto(booking_link)
    page.wait_for_url(re.compile(rf"/{slug}/sign-in/\?next="))


def test_booking_not_linked_then_sign_in_as_someone_else(page, live_server, booking, sign_in, settings):
    carol = CustomerFactory(organisation=booking.organisation, email="carol@example.com")
    client = sign_in(carol)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    slug = booking.organisation.slug
    page.goto(f"{live_server.url}/{slug}/bookings/{booking.reference}/")
    assert "This booking is not linked to carol@example.com" in page.locator("h1").inner_text()
    assert "Lisbon city break" not in page.content()
    check_page(page, "bookings-not-linked")

    page.get_by_role("button", name="Sign in as someone else").click()
    page.wait_for_url(re.compile(rf"/{slug}/sign-in/\?next=%2F{slug}%2Fbookings%2F"))
    assert "carol@example.com" not in page.locator("header").inner_text()


def test_link_alone_opens_the_booking_when_sign_in_is_off(page, live_server, booking):
    booking.organisation.requires_sign_in = False
    booking.organisation.save()
    page.goto(f"{live_server.url}/{booking.organisation.slug}/bookings/{booking.reference}/")
    assert "Lisbon city break" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name="Book Airport transfer").count() == 0
    check_page(page, "bookings-link-only")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(r"/sign-in/\?next="))
