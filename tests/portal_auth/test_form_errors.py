"""A failed form's page: "There is a problem" first, each error a link to its field, and "Error: " in the title."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from portal_auth.models import CustomerToken
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingFactory
from tests.conftest import as_shown
from tests.conversations.factories import ConversationFactory
from tests.tickets.factories import TicketFactory


class _Page(HTMLParser):
    """What the checks need from a page: every id, the summary's links, the attributes of each form control."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.summary_links: list[str] = []
        self.controls: dict[str, dict[str, str]] = {}
        self._in_summary = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag in ("input", "textarea", "select") and "id" in attributes:
            self.controls[attributes["id"]] = attributes
        if tag == "div" and "data-error-summary" in attributes:
            self._in_summary = 1
        elif self._in_summary and tag == "div":
            self._in_summary += 1
        elif self._in_summary and tag == "a":
            self.summary_links.append(attributes["href"])

    def handle_endtag(self, tag):
        if self._in_summary and tag == "div":
            self._in_summary -= 1


def _sign_in_form(client, organisation, customer):
    return f"/{organisation.slug}/sign-in/", {"email": "", "password": ""}


def _password_request(client, organisation, customer):
    return f"/{organisation.slug}/password/", {"email": "not an address"}


def _password_set(client, organisation, customer):
    _, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    client.get(f"/{organisation.slug}/password/link/{raw}/")
    path = f"/{organisation.slug}/password/set/"
    return path, as_shown(client, path, {"password1": "short", "password2": "other"})


def _access_link_request(client, organisation, customer):
    return f"/{organisation.slug}/support/portal/new-link/", {"email": "@"}


def _new_ticket(client, organisation, customer):
    return f"/{organisation.slug}/support/new/", {"subject": "", "priority": "urgent-ish", "body": ""}


def _ticket_reply(client, organisation, customer):
    ticket = TicketFactory(organisation=organisation, requester=customer)
    return f"/{organisation.slug}/support/{ticket.number}/reply/", {"body": ""}


def _reply_to_a_closed_ticket(client, organisation, customer):
    ticket = TicketFactory(organisation=organisation, requester=customer, status="closed")
    return f"/{organisation.slug}/support/{ticket.number}/reply/", {"body": "Still there?"}


def _conversation_reply(client, organisation, customer):
    conversation = ConversationFactory(customer=customer)
    return f"/{organisation.slug}/conversations/{conversation.pk}/", {"body": "   "}


def _booking(organisation, customer):
    booking = BookingFactory(organisation=organisation)
    AttendeeFactory(booking=booking, email=customer.email)
    return booking


def _document_upload(client, organisation, customer):
    return f"/{organisation.slug}/bookings/{_booking(organisation, customer).reference}/documents/", {}


def _add_on_booking(client, organisation, customer):
    add_on = AddOnFactory(organisation=organisation)
    booking = _booking(organisation, customer)
    # A price that is no longer the add-on's: the page asks to check the new one.
    url = f"/{organisation.slug}/bookings/{booking.reference}/add-ons/{add_on.pk}/book/"
    return url, {"price": str(add_on.price + 1), "currency": add_on.currency}


SIGNED_OUT_FORMS = [_sign_in_form, _password_request, _password_set, _access_link_request]
CUSTOMER_FORMS = [
    _new_ticket,
    _ticket_reply,
    _reply_to_a_closed_ticket,
    _conversation_reply,
    _document_upload,
    _add_on_booking,
]


@pytest.mark.parametrize("form", SIGNED_OUT_FORMS + CUSTOMER_FORMS, ids=lambda form: form.__name__.strip("_"))
def test_a_failed_form_lists_its_problems_first_each_linked_to_its_field(client, sign_in, customer, form):
    if form in CUSTOMER_FORMS:
        client = sign_in(customer, client=client)
    url, data = form(client, customer.organisation, customer)

    response = client.post(url, data)

    assert response.status_code in (200, 400, 409)
    html = response.content.decode()
    assert re.search(r"<title>Error: [^<]+</title>", html)
    assert html.count("There is a problem") == 1
    # First thing in the page's content, before the heading.
    assert html.index("There is a problem") < html.index("<h1")
    page = _Page(html)
    assert page.summary_links, "the summary lists no error"
    for link in page.summary_links:
        assert link.startswith("#") and link[1:] in page.ids, f"{link} leads nowhere"
    for target in (link[1:] for link in page.summary_links):
        if target in page.controls:
            control = page.controls[target]
            assert control["aria-invalid"] == "true"
            assert f"{target}_error" in control["aria-describedby"].split()
            assert f'id="{target}_error"' in html


def test_each_invalid_field_of_a_form_has_its_own_link(client, organisation):
    page = _Page(client.post(f"/{organisation.slug}/sign-in/", {"email": "", "password": ""}).content.decode())
    assert page.summary_links == ["#id_email", "#id_password"]


def test_a_form_page_that_did_not_fail_has_no_summary_and_a_plain_title(client, organisation):
    html = client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert "There is a problem" not in html
    assert "<title>Sign in · " in html
    assert "portal/notices.js" in html


def test_the_summary_needs_no_inline_script(client, organisation):
    """Pages are to run under a Content-Security-Policy without 'unsafe-inline': the script is a file."""
    html = client.post(f"/{organisation.slug}/sign-in/", {"email": "", "password": ""}).content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="' in attributes and not body.strip() for attributes, body in scripts)
    assert re.search(r"\son\w+=", html) is None
