"""A customer fills in their profile (with a mistake first), turns off reply emails, then moves their account
to a new address through the link emailed there. A real browser and SMTP, at desktop and phone widths."""

import pytest

from portal_auth.models import Customer
from tests.conftest import link_in
from tests.e2e.conftest import check_page
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory
from tests.smtp import text_of

pytestmark = pytest.mark.e2e


def test_a_customer_keeps_their_profile_and_changes_their_email_address(page, live_server, smtp_server):
    organisation = OrganisationFactory(name="Voyages Lumière")
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", name="", with_password=True)
    slug = organisation.slug

    page.goto(f"{live_server.url}/{slug}/sign-in/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Profile").click()
    page.wait_for_url(f"{live_server.url}/{slug}/profile/")
    check_page(page, "profile-1-empty")

    page.get_by_label("Full name").fill("Alice Martin")
    page.get_by_label("Phone number").fill("12 34")
    page.get_by_label("Address line 1").fill("12 Rua das Flores")
    page.get_by_label("Preferred language").select_option("pt")
    page.get_by_label("Replies to my support tickets").uncheck()
    page.get_by_role("button", name="Save changes").click()
    summary = page.locator(".error-summary")
    assert "That phone number is too short." in summary.inner_text()
    assert "Enter your town or city, or clear the address to have none." in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    check_page(page, "profile-2-mistakes")
    summary.get_by_role("link", name="That phone number is too short", exact=False).click()
    assert page.evaluate("document.activeElement.id") == "id_phone"
    page.get_by_label("Phone number").fill("+351 21 123 4567")
    page.get_by_label("Town or city").fill("Lisboa")
    page.get_by_label("Country").fill("Portugal")
    page.get_by_role("button", name="Save changes").click()
    assert "Your profile is saved." in page.locator(".messages").inner_text()
    assert page.get_by_label("Town or city").input_value() == "Lisboa"
    assert not page.get_by_label("Replies to my support tickets").is_checked()

    page.get_by_role("link", name="Change email address").click()
    assert "Bookings made for alice@example.com will no longer show here" in page.locator(".notice").inner_text()
    check_page(page, "profile-3-change-email")
    page.get_by_label("New email address").fill("alice.martin@example.org")
    page.get_by_label("Your current password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Email me a link").click()
    assert "We sent an email to alice.martin@example.org" in page.locator(".lead").inner_text()
    check_page(page, "profile-4-sent")

    link = link_in(text_of(smtp_server.messages_to("alice.martin@example.org")[-1]), f"/{slug}/profile/email/link/")
    page.goto(link)
    assert page.url == f"{live_server.url}/{slug}/profile/email/confirm/"
    check_page(page, "profile-5-confirm")
    page.get_by_role("button", name="Use alice.martin@example.org").click()

    page.wait_for_url(f"{live_server.url}/{slug}/profile/")
    assert "Your email address is now alice.martin@example.org." in page.locator(".messages").inner_text()
    assert page.locator(".who").inner_text() == "alice.martin@example.org"
    check_page(page, "profile-6-changed")
    told = text_of(smtp_server.messages_to("alice@example.com")[-1])
    assert "was changed from alice@example.com to alice.martin@example.org" in told
    assert Customer.objects.get(pk=customer.pk).email == "alice.martin@example.org"
