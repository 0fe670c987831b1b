"""The identity pages in a real browser: readable, keyboard-usable and accessible at both widths."""

from tests.e2e.conftest import check_page
from tests.factories import CUSTOMER_PASSWORD


def test_wrong_password_then_right_one(page, live_server, customer):
    organisation = customer.organisation
    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/")
    check_page(page, "sign-in")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    assert "don't match" in page.locator("#form-errors").inner_text()
    # The error summary has the focus, so the problem is the first thing read; its link leads to the form.
    summary = page.locator("[data-error-summary]")
    assert summary.evaluate("element => element === document.activeElement")
    assert "There is a problem" in summary.inner_text()
    assert page.title().startswith("Error: Sign in")
    check_page(page, "sign-in-refused")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "id_email"

    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/")
    assert customer.email in page.locator("header").inner_text()
    check_page(page, "portal-home")


def test_assign_password_request_answers_the_same_for_anyone(page, live_server, organisation):
    page.goto(f"{live_server.url}/{organisation.slug}/password/")
    check_page(page, "password-request")
    page.get_by_label("Email").fill("stranger@example.com")
    page.get_by_role("button", name="Email me a link").click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/password/sent/")
    assert "Check your email" in page.locator("h1").inner_text()
    check_page(page, "password-link-sent")


def test_a_sign_on_link_from_the_business_names_its_account_before_signing_in(page, live_server, organisation):
    from portal_auth.doors.external_sign_on.services import external_token_sign

    organisation.rotate_external_sign_on_secret()
    organisation.external_sign_on_enabled = True
    organisation.external_sign_on_url = "https://login.example.com/"
    organisation.save()
    token = external_token_sign(organisation=organisation, email="reader@example.com")

    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/external/?externalToken={token}")
    assert "reader@example.com" in page.locator("main").inner_text()
    check_page(page, "sign-on-confirm")
    page.get_by_role("button", name="Continue as reader@example.com").click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/conversations/")
    assert "reader@example.com" in page.locator("header").inner_text()


def test_the_sign_in_page_offers_every_open_door_and_email_me_a_link_works(page, live_server, customer, mailoutbox):
    organisation = customer.organisation
    organisation.rotate_external_sign_on_secret()
    organisation.external_sign_on_enabled = True
    organisation.external_sign_on_url = "https://login.example.com/"
    organisation.save()

    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/")
    check_page(page, "sign-in-every-door")
    assert page.get_by_role("link", name=f"Sign in with {organisation.public_name}").is_visible()
    assert page.get_by_label("Password").is_visible()
    page.get_by_role("link", name="Email me a link").click()
    # The request carries the page that asked for a sign-in, where the emailed link will lead.
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/link/request/?next=/{organisation.slug}/")
    check_page(page, "email-me-a-link")
    page.get_by_label("Your email address").fill(customer.email)
    page.get_by_role("button", name="Email me a link").click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/link/new/sent/")
    assert customer.email in page.locator("main").inner_text()
