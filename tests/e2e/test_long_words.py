"""Names staff type, a portal's or a policy's title, written as one long word: every page still fits a phone."""

import pytest

from tests.e2e.conftest import PHONE, check_page
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory, primary_portal_of
from tests.policies.factories import PolicyFactory

pytestmark = pytest.mark.e2e

PORTAL_NAME = "LumièreÉvénements" * 8  # 136 characters and no place to break
POLICY_TITLE = "Conditionsgénérales" * 6


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_a_portal_name_and_a_policy_title_of_one_long_word_wrap_on_a_phone(browser, live_server, e2e_settings):
    organisation = OrganisationFactory(name=PORTAL_NAME)
    portal = primary_portal_of(organisation)
    portal.name = PORTAL_NAME
    portal.save()
    PolicyFactory(organisation=organisation, kind="terms", title=POLICY_TITLE, slug="terms")
    CustomerFactory(organisation=organisation, email="alice@example.com", with_password=True)
    slug = organisation.slug
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.viewport_name = "phone"

    page.goto(f"{live_server.url}/{slug}/sign-in/")
    assert page_width(page) <= PHONE["width"]
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/{slug}/")
    for path in ("", "profile/", "policies/", "policies/terms/"):
        page.goto(f"{live_server.url}/{slug}/{path}")
        assert page_width(page) <= PHONE["width"], path
    check_page(page, "long-words-policy")
    context.close()
