"""The two newer doors in a real browser: a code caught from a real SMTP server, and a business's backend that
asks the API for a sign-in URL and opens it in the customer's browser."""

import re
import time

import pytest
import requests

from portal_auth.api_keys import api_key_create
from tests.e2e.conftest import check_page
from tests.factories import CustomerFactory, OrganisationFactory
from tests.smtp import html_of, text_of
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.e2e


def wait_for_mail(smtp_server, address, count=1):
    for _ in range(50):
        messages = smtp_server.messages_to(address)
        if len(messages) >= count:
            return messages[-1]
        time.sleep(0.1)
    raise AssertionError(f"no email to {address}")


def test_a_customer_signs_in_with_a_code_from_their_email(page, live_server, smtp_server):
    organisation = OrganisationFactory(name="Voyages Lumière", doors=["password", "email_code", "access_link"])
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", name="Alice Martin")

    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/")
    page.get_by_role("link", name="Email me a sign-in code").click()
    check_page(page, "code-1-request")
    page.get_by_label("Email").fill("Alice@Example.com")
    page.get_by_role("button", name="Email me a code").click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/code/enter/")
    assert "alice@example.com" in page.locator(".lead").inner_text()
    check_page(page, "code-2-enter")

    message = wait_for_mail(smtp_server, customer.email)
    assert message["Subject"] == "Your sign-in code for Voyages Lumière"
    code = re.search(r"^[ \t]+(\d{8})\s*$", text_of(message), re.MULTILINE).group(1)
    assert code in html_of(message) and code not in message["Subject"]

    code_box = page.get_by_label("Sign-in code")
    assert code_box.get_attribute("autocomplete") == "one-time-code"
    code_box.fill(f"{(int(code) + 1) % 100_000_000:08d}")
    page.get_by_role("button", name="Sign in").click()
    assert "That code is wrong. You have 2 tries left." in page.locator(".field-errors").inner_text()
    check_page(page, "code-3-wrong")

    page.get_by_label("Sign-in code").fill(f"{code[:3]} {code[3:]}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/")
    assert customer.email in page.locator("header").inner_text()


def test_the_business_backend_gets_a_url_that_signs_its_user_in_on_the_page_asked_for(page, live_server):
    organisation = OrganisationFactory(name="Voyages Lumière", doors=["password", "access_link", "api_redirect"])
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", external_id="u-42")
    ticket = TicketFactory(organisation=organisation, requester=customer, subject="Refund for the Lisbon hotel")
    key = api_key_create(organisation=organisation, name="Backend")[1]
    backend = requests.Session()
    backend.headers["Authorization"] = f"Bearer {key}"

    # The business's backend, deciding whether to show its "Portal" button, then making the URL.
    access = backend.get(f"{live_server.url}/api/v1/customers/u-42/access", timeout=10)
    assert access.status_code == 200 and access.json()["has_access"] is True
    made = backend.post(
        f"{live_server.url}/api/v1/portal-sessions",
        json={"customer": "u-42", "return_to": f"/{organisation.slug}/support/{ticket.number}/"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    url = made.json()["url"]

    page.goto(url)
    assert page.url == f"{live_server.url}/{organisation.slug}/support/{ticket.number}/"
    assert "Refund for the Lisbon hotel" in page.locator("h1").inner_text()
    assert customer.email in page.locator("header").inner_text()
    check_page(page, "api-redirect-1-ticket")

    page.context.clear_cookies()
    page.goto(url)
    assert page.url == f"{live_server.url}/{organisation.slug}/redirect/expired/"
    assert "This link has expired" in page.locator("h1").inner_text()
    assert customer.email not in page.locator("header").inner_text()
    check_page(page, "api-redirect-2-used")
