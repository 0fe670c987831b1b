"""A portal in its own colours, dark and light: buttons, links and focus rings readable, nothing inline."""

import pytest

from tests.e2e.conftest import check_page
from tests.factories import CUSTOMER_PASSWORD, primary_portal_of

pytestmark = pytest.mark.e2e


def rgb(colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


@pytest.mark.parametrize(
    ("name", "accent", "accent_text"), [("dark", "#0f3d5c", "#ffffff"), ("light", "#ffd700", "#1f2328")]
)
def test_a_portal_wears_its_colours_readably(page, live_server, customer, name, accent, accent_text):
    organisation = customer.organisation
    portal = primary_portal_of(organisation)
    portal.accent_colour, portal.accent_text_colour = accent, accent_text
    portal.full_clean()
    portal.save()

    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/")
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == rgb(accent)
    assert button.evaluate("b => getComputedStyle(b).color") == rgb(accent_text)
    check_page(page, f"theme-{name}-sign-in")

    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    button.click()
    page.wait_for_url(f"{live_server.url}/{organisation.slug}/")
    # axe measures every link against the page: a light accent is darkened where it is text.
    check_page(page, f"theme-{name}-home")
