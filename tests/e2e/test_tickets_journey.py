"""Support tickets in a real browser: staff send a portal link from the admin, the customer opens it with the
button on the link's page and takes it from there."""

import re
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import link_in
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, check_page
from tests.factories import CustomerFactory
from tests.smtp import text_of
from tests.tickets.factories import TicketFactory, TicketMessageFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STAFF_PASSWORD = "staff password for the browser test"
INTERNAL_NOTE = "Internal: refund approved by finance, do not mention the voucher"


@pytest.fixture
def ticket(organisation):
    agent = get_user_model().objects.create_user(
        "ines",
        "ines@voyages.example",
        STAFF_PASSWORD,
        first_name="Inès",
        last_name="Duval",
        is_staff=True,
        is_superuser=True,
    )
    alice = CustomerFactory(organisation=organisation, email="alice@example.com", name="Alice Martin")
    ticket = TicketFactory(
        organisation=organisation, requester=alice, subject="Lost luggage in Lisbon", assigned_agent=agent
    )
    TicketMessageFactory(ticket=ticket, body="My suitcase did not arrive on flight TP1351.")
    TicketMessageFactory(ticket=ticket, internal=True, author_staff=agent, body=INTERNAL_NOTE)
    TicketMessageFactory(
        ticket=ticket, from_staff=True, author_staff=agent, body="We have asked the airline to trace it."
    )
    TicketFactory(organisation=organisation, requester=alice, subject="Invoice address", status="solved")
    return ticket


def _email_to(smtp_server, address, subject_contains):
    messages = [m for m in smtp_server.messages_to(address) if subject_contains in str(m["Subject"])]
    assert messages, (
        f"No email to {address} about {subject_contains!r}: {[str(m['Subject']) for m in smtp_server.messages]}"
    )
    return messages[-1]


@contextmanager
def _staff_browser(page, live_server, next_path):
    """Staff in a browser of their own: the admin's session and the customer's must not share cookies."""
    context = page.context.browser.new_context(
        viewport=PHONE if page.viewport_name == "phone" else DESKTOP, locale="en-GB"
    )
    staff = context.new_page()
    try:
        staff.goto(f"{live_server.url}{next_path}")
        staff.get_by_label("Username").fill("ines")
        staff.get_by_label("Password").fill(STAFF_PASSWORD)
        staff.get_by_role("button", name="Log in").click()
        staff.wait_for_url(f"{live_server.url}{next_path}")
        yield staff
    finally:
        context.close()


def _staff_sends_portal_link(page, live_server, ticket):
    change = f"/admin/tickets/ticket/{ticket.pk}/change/"
    with _staff_browser(page, live_server, change) as staff:
        assert INTERNAL_NOTE in staff.content()  # staff see their notes
        staff.get_by_role("button", name="Send portal link").click()
        staff.wait_for_url(f"{live_server.url}{change}")
        assert "Portal link to ticket #1 emailed to alice@example.com" in staff.locator(".messagelist").inner_text()
        staff.screenshot(path=SCREENSHOTS / f"tickets-1-admin-link-sent-{page.viewport_name}.png", full_page=True)


def _staff_read_the_usage_report(page, live_server):
    with _staff_browser(page, live_server, "/admin/portal_auth/accessevent/portal-usage/") as staff:
        assert "alice@example.com" in staff.locator("#content-main").inner_text()
        staff.screenshot(path=SCREENSHOTS / f"tickets-10-admin-portal-usage-{page.viewport_name}.png", full_page=True)


def test_staff_send_a_link_and_the_customer_replies_creates_filters_and_searches(
    page, live_server, smtp_server, ticket
):
    slug = ticket.organisation.slug
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _staff_sends_portal_link(page, live_server, ticket)

    email = _email_to(smtp_server, "alice@example.com", "Your support ticket #1")
    link = link_in(text_of(email), "/support/portal/")
    assert INTERNAL_NOTE not in text_of(email)
    page.goto(link)
    # The link itself signs nobody in: its page names the account, and its button opens it.
    page.wait_for_url(f"{live_server.url}/{slug}/support/portal/open/")
    lead = page.locator("main .lead").inner_text()
    assert "support tickets of alice@example.com at" in lead
    check_page(page, "tickets-1b-open-link")
    page.get_by_role("button", name="Open support tickets").click()
    detail = f"{live_server.url}/{slug}/support/1/"
    page.wait_for_url(detail)
    main = page.locator("main")
    assert "Lost luggage in Lisbon" in main.locator("h1").inner_text()
    assert "We have asked the airline to trace it." in main.inner_text()
    assert "Inès Duval" in main.inner_text()
    assert INTERNAL_NOTE not in page.content()
    check_page(page, "tickets-2-ticket-from-link")

    page.get_by_label("Your reply").fill("Thank you. Here is my baggage tag.")
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": "baggage-tag.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(f"{detail}#latest")
    assert "Your reply has been added." in page.locator(".messages").inner_text()
    latest = page.locator("#latest")
    assert "Here is my baggage tag." in latest.inner_text()
    with page.expect_download() as download:
        latest.get_by_role("link", name="baggage-tag.pdf").click()
    assert download.value.suggested_filename == "baggage-tag.pdf"
    check_page(page, "tickets-3-replied-with-attachment")
    assert "Here is my baggage tag." in text_of(_email_to(smtp_server, "ines@voyages.example", "replied"))

    page.get_by_role("link", name="Mark as solved").click()
    page.wait_for_url(f"{detail}solve/")
    check_page(page, "tickets-3b-mark-solved")
    page.get_by_role("button", name="Mark it solved").click()
    page.wait_for_url(f"{detail}#latest")
    assert "Solved — reply to reopen" in page.locator(".ticket-details").inner_text()
    assert "Marked this ticket solved." in page.locator("#latest").inner_text()
    _email_to(smtp_server, "ines@voyages.example", "marked solved")

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Support").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/")
    page.get_by_role("link", name="New ticket").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/new/")
    check_page(page, "tickets-4-new-ticket")
    page.get_by_label("Subject").fill("Vegetarian meals on the walking week")
    page.get_by_label("Priority").select_option("low")
    page.get_by_label("How can we help?").fill("Are the mountain hut dinners vegetarian?")
    page.get_by_role("button", name="Send ticket").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/3/created/")
    assert "#3" in page.locator("main").inner_text()
    check_page(page, "tickets-5-ticket-received")
    assert "#3" in str(_email_to(smtp_server, "alice@example.com", "received")["Subject"])

    page.get_by_role("link", name="All my tickets").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/")
    rows = page.locator(".ticket-row")
    assert rows.count() == 3
    assert "Vegetarian meals" in rows.first.inner_text()  # newest activity first
    check_page(page, "tickets-6-list")

    page.get_by_label("Status").select_option("solved")
    page.get_by_role("button", name="Show tickets").click()
    page.wait_for_url(re.compile(r"status=solved"))
    assert rows.count() == 2 and "Solved — reply to reopen" in rows.first.inner_text()
    check_page(page, "tickets-7-filtered")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Search").fill("luggage")
    page.get_by_label("Search").press("Enter")
    page.wait_for_url(re.compile(r"q=luggage"))
    assert rows.count() == 1 and "Lost luggage in Lisbon" in rows.first.inner_text()
    page.get_by_label("Search").fill("#3")
    page.get_by_role("button", name="Show tickets").click()
    page.wait_for_url(re.compile(r"q=%233"))
    assert rows.count() == 1 and "Vegetarian meals" in rows.first.inner_text()
    check_page(page, "tickets-8-searched")

    page.goto(f"{live_server.url}/{slug}/")
    assert "Lost luggage in Lisbon" in page.get_by_role("region", name="Support tickets").inner_text()
    check_page(page, "tickets-9-home")

    _staff_read_the_usage_report(page, live_server)


def test_a_dead_link_offers_a_new_one_by_email(page, live_server, smtp_server, ticket):
    slug = ticket.organisation.slug
    page.goto(f"{live_server.url}/{slug}/support/portal/{'x' * 64}")
    # Through the page that would name the account: a dead link names none, it offers a new one.
    page.wait_for_url(f"{live_server.url}/{slug}/support/portal/new-link/")
    assert "This link no longer works" in page.locator("h1").inner_text()
    check_page(page, "tickets-link-refused")
    page.get_by_label("Your email address").fill("alice@example.com")
    page.get_by_role("button", name="Email me a new link").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/portal/new-link/sent/")
    check_page(page, "tickets-link-sent")

    page.goto(link_in(text_of(_email_to(smtp_server, "alice@example.com", "support tickets")), "/support/portal/"))
    page.wait_for_url(f"{live_server.url}/{slug}/support/portal/open/")
    page.get_by_role("button", name="Open support tickets").click()
    page.wait_for_url(f"{live_server.url}/{slug}/support/")
    assert page.locator(".ticket-row").count() == 2
