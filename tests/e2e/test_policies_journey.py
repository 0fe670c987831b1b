"""Staff publish a refund policy in the admin; a visitor finds it in the footer, reads it and the company's details,
and after signing in finds Policies in the nav. A real browser, at desktop and phone widths."""

import pytest

from tests.e2e.conftest import check_page
from tests.e2e.test_staff_admin import STAFF_PASSWORD, assert_no_serious_violations
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.policies.factories import CompanyInformationFactory, PolicyFactory

pytestmark = pytest.mark.e2e

REFUND_POLICY = """\
# Cancelling

| When you cancel | What we refund |
| --- | --- |
| 30 days or more before | everything |
| Less than 14 days before | nothing |

Write to [our team](mailto:help@voyages.example) <script>alert("not run")</script>
<img src=x onerror=alert("not run")> [not a link](javascript:alert("not run"))
"""


def test_staff_publish_a_policy_and_visitors_and_customers_read_it(browser, page, live_server, viewport):
    organisation = OrganisationFactory(name="Harbour Ferries")
    CompanyInformationFactory(organisation=organisation)
    PolicyFactory(organisation=organisation, kind="terms", title="Terms and conditions", slug="terms", order=1)
    CustomerFactory(organisation=organisation, email="alice@example.com", with_password=True)
    staff = StaffUserFactory(is_superuser=True)
    slug = organisation.slug
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # Staff: a refund policy of the usual kind, its title and address left to follow from it.
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.viewport_name = viewport
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill(staff.username)
    admin.get_by_label("Password").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_server.url}/admin/policies/policy/add/")
    admin.get_by_label("Organisation").select_option(label=organisation.name)
    admin.get_by_label("Kind").select_option("refunds")
    admin.get_by_label("Order").fill("2")
    admin.get_by_label("Body").fill(REFUND_POLICY)
    admin.get_by_role("button", name="Save and continue editing").click()
    assert "was added successfully" in admin.locator(".messagelist").inner_text()
    preview = admin.locator(".policy-preview")
    assert preview.locator("h2").inner_text() == "Cancelling"
    assert '<script>alert("not run")</script>' in preview.inner_text()
    assert_no_serious_violations(admin, "policies-admin-preview")
    admin.context.close()

    # A visitor: the footer of the sign-in page links to each policy, reached by keyboard.
    page.goto(f"{live_server.url}/{slug}/sign-in/")
    footer = page.get_by_role("navigation", name="Policies and company information")
    assert footer.get_by_role("link").all_inner_texts() == [
        "Terms and conditions",
        "Refund policy",
        "Company information",
    ]
    footer.get_by_role("link", name="Refund policy").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/{slug}/policies/refunds/")
    assert page.get_by_role("heading", level=1).inner_text() == "Refund policy"
    assert page.get_by_role("cell", name="everything").is_visible()
    assert page.get_by_role("link", name="our team").get_attribute("href") == "mailto:help@voyages.example"
    assert page.get_by_role("link", name="not a link").count() == 0
    check_page(page, "policies-1-refund-policy")

    page.get_by_role("link", name="← Policies").click()
    page.wait_for_url(f"{live_server.url}/{slug}/policies/")
    company = page.get_by_role("region", name="Company information")
    assert "Voyages Lumière SAS" in company.inner_text()
    assert "FR 12 812345678" in company.inner_text()
    check_page(page, "policies-2-list")

    # Signed in, the nav offers Policies, marked current on its pages.
    page.goto(f"{live_server.url}/{slug}/sign-in/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Policies").click()
    page.wait_for_url(f"{live_server.url}/{slug}/policies/")
    current = page.get_by_role("navigation", name="Portal").locator("[aria-current=page]")
    assert current.inner_text() == "Policies"
    check_page(page, "policies-3-signed-in")

    assert dialogs == []  # nothing typed into the policy ran
