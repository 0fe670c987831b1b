"""Staff shape a second portal in the admin (its colours, its logo, its sections reordered and one turned off); a
customer signs in there, keeps their profile, reads the refund policy, looks at their recent access and signs
out everywhere. A real browser, at desktop and phone widths."""

import io

import pytest
from PIL import Image

from portal_auth.models import Portal
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, check_page
from tests.e2e.test_sessions_journey import PHONE_AGENT
from tests.e2e.test_staff_admin import STAFF_PASSWORD
from tests.e2e.test_theme import rgb
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.policies.factories import PolicyFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.e2e

ACCENT, ACCENT_TEXT = "#0f3d5c", "#ffffff"
# The tests' settings install one section more, tests/loyalty_app's, placed after billing.
SECTIONS_IN_NEW_ORDER = ["Support", "My bookings", "Profile", "Conversations", "Loyalty", "Policies"]


def logo_png() -> bytes:
    # Wider than tall, as most logos are: the header must still fit a phone.
    image = Image.new("RGB", (480, 160), ACCENT)
    image.paste((255, 200, 0), (40, 40, 120, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def organisation(db):
    organisation = OrganisationFactory(name="Voyages Lumière")
    PolicyFactory(
        organisation=organisation,
        kind="refunds",
        title="Refund policy",
        slug="refunds",
        body="## Cancelling\n\nCancel 30 days or more before you travel and we refund **everything**.",
    )
    return organisation


@pytest.fixture
def customer(organisation):
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", with_password=True)
    TicketFactory(organisation=organisation, requester=customer, subject="Lost luggage")
    return customer


def staff_shape_a_second_portal(browser, live_server, organisation) -> Portal:
    staff = StaffUserFactory()
    admin = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    try:
        admin.goto(f"{live_server.url}/admin/login/")
        admin.get_by_label("Username").fill(staff.username)
        admin.get_by_label("Password").fill(STAFF_PASSWORD)
        admin.get_by_role("button", name="Log in").click()
        admin.wait_for_url(f"{live_server.url}/admin/")

        admin.goto(f"{live_server.url}/admin/portal_auth/portal/add/")
        admin.get_by_label("Organisation").select_option(label=organisation.name)
        admin.get_by_label("Name").fill("Lumière Events")
        admin.get_by_label("Name").press("Tab")
        # The admin proposes an address from the name; staff choose a shorter one.
        assert admin.get_by_label("Address").input_value() == "lumiere-events"
        admin.get_by_label("Address").fill("lumiere")
        # A yellow accent under white text first: the contrast rule refuses it and says what to do.
        admin.get_by_label("Accent colour:", exact=True).fill("#ffd700")
        admin.get_by_label("Text on the accent colour").fill("#ffffff")
        admin.get_by_role("button", name="Save and continue editing").click()
        assert "contrast 1.4:1; text on buttons needs 4.5:1" in admin.locator(".field-accent_text_colour").inner_text()
        assert not Portal.objects.filter(slug="lumiere").exists()

        admin.get_by_label("Accent colour:", exact=True).fill(ACCENT)
        admin.get_by_label("Text on the accent colour").fill(ACCENT_TEXT)
        admin.get_by_label("Logo").set_input_files(
            {"name": "lumiere.png", "mimeType": "image/png", "buffer": logo_png()}
        )
        admin.get_by_role("button", name="Save and continue editing").click()
        assert "was added successfully" in admin.locator(".messagelist").inner_text()

        # Sections: dragged by their names into a new order; billing not shown on this portal.
        rows = admin.locator("#sections-group tr.form-row.has_original")

        def row(title: str):
            return rows.filter(has=admin.locator("td.original p", has_text=title))

        def order() -> list[str]:
            return [name.strip() for name in rows.locator("td.original p").all_inner_texts()]

        assert order() == ["My bookings", "Support", "Conversations", "Billing", "Loyalty", "Policies", "Profile"]
        row("Support").locator("td.original p").drag_to(row("My bookings").locator("td.original p"))
        row("Profile").locator("td.original p").drag_to(row("Conversations").locator("td.original p"))
        row("Billing").locator("td.field-enabled input").uncheck()
        admin.get_by_role("button", name="Save and continue editing").click()
        assert "was changed successfully" in admin.locator(".messagelist").inner_text()
        assert order() == ["Support", "My bookings", "Profile", "Conversations", "Billing", "Loyalty", "Policies"]
        assert not row("Billing").locator("td.field-enabled input").is_checked()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        admin.screenshot(path=SCREENSHOTS / "portals-0-admin-sections.png", full_page=True)
    finally:
        admin.context.close()
    return Portal.objects.get(slug="lumiere")


def sign_in(page, base: str, customer) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_staff_shape_a_second_portal_and_a_customer_uses_it(browser, page, live_server, organisation, customer):
    portal = staff_shape_a_second_portal(browser, live_server, organisation)
    assert portal.organisation == organisation and not portal.is_primary
    assert (portal.accent_colour, portal.accent_text_colour) == (ACCENT, ACCENT_TEXT)
    assert portal.logo.name.endswith(".png")
    base = f"{live_server.url}/{portal.slug}"

    # The customer signs in on the new portal, which wears its own colours and logo.
    page.goto(f"{base}/sign-in/")
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == rgb(ACCENT)
    assert button.evaluate("b => getComputedStyle(b).color") == rgb(ACCENT_TEXT)
    assert page.locator(".brand").inner_text() == "Lumière Events"
    assert page.locator(".brand-logo").evaluate("img => img.naturalWidth") == 480
    check_page(page, "portals-1-sign-in")
    sign_in(page, base, customer)

    nav = page.get_by_role("navigation", name="Portal")
    assert nav.get_by_role("link").all_inner_texts() == ["Home", *SECTIONS_IN_NEW_ORDER]
    check_page(page, "portals-2-home")

    response = page.goto(f"{base}/billing/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "We can't find that page"
    check_page(page, "portals-3-billing-not-found")

    # The profile: a phone number and a postal address.
    page.goto(f"{base}/")
    nav.get_by_role("link", name="Profile").click()
    page.wait_for_url(f"{base}/profile/")
    save = page.get_by_role("button", name="Save changes")
    assert save.evaluate("b => getComputedStyle(b).backgroundColor") == rgb(ACCENT)
    page.get_by_label("Phone number").fill("+351 21 123 4567")
    page.get_by_label("Address line 1").fill("12 Rua das Flores")
    page.get_by_label("Town or city").fill("Lisboa")
    page.get_by_label("Country").fill("Portugal")
    save.click()
    assert "Your profile is saved." in page.locator(".messages").inner_text()
    assert page.get_by_label("Phone number").input_value() == "+351 21 123 4567"
    assert page.get_by_label("Town or city").input_value() == "Lisboa"
    check_page(page, "portals-4-profile-saved")

    # The refund policy, from the footer, on this portal.
    page.get_by_role("navigation", name="Policies and company information").get_by_role(
        "link", name="Refund policy"
    ).click()
    page.wait_for_url(f"{base}/policies/refunds/")
    assert page.get_by_role("heading", level=1).inner_text() == "Refund policy"
    assert "we refund everything" in page.locator("main").inner_text()
    check_page(page, "portals-5-refund-policy")

    # Recent access shows the sign-in just made, with its door and this browser.
    page.goto(f"{base}/profile/")
    page.get_by_role("link", name="See your recent access").click()
    page.wait_for_url(f"{base}/profile/access/")
    newest = page.locator(".access-row").first
    assert "Signed in with email and password" in newest.inner_text()
    assert "Chrome on Linux" in newest.inner_text()
    check_page(page, "portals-6-recent-access")

    # Signed in on a phone too; signing out everywhere from here signs the phone out.
    phone_context = browser.new_context(viewport=PHONE, locale="en-GB", user_agent=PHONE_AGENT)
    try:
        phone = phone_context.new_page()
        sign_in(phone, base, customer)

        page.get_by_role("link", name="See your sessions").click()
        page.wait_for_url(f"{base}/profile/access/sessions/")
        sessions = page.locator(".session-row")
        assert sessions.count() == 2
        assert "This browser" in sessions.filter(has_not_text="Chrome on Android").inner_text()
        check_page(page, "portals-7-sessions")
        page.get_by_role("button", name="Sign out everywhere and withdraw my links").click()
        page.wait_for_url(f"{base}/profile/access/sessions/")
        assert "Signed out everywhere else (1 other session)" in page.locator(".messages").inner_text()
        check_page(page, "portals-8-signed-out-everywhere")

        phone.goto(f"{base}/support/")
        assert phone.url.startswith(f"{base}/sign-in/")
        assert phone.get_by_role("button", name="Sign in").is_visible()
    finally:
        phone_context.close()
