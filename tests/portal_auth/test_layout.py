import pytest

from tests.factories import primary_portal_of


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("", "Home"),
        ("bookings/", "My bookings"),
        ("support/", "Support"),
        ("conversations/", "Conversations"),
        ("profile/", "Profile"),
        # Pages under the profile's address are the profile's in the nav.
        ("profile/access/", "Profile"),
        ("profile/access/sessions/", "Profile"),
    ],
)
def test_navigation_marks_the_current_section(sign_in, customer, path, current):
    html = sign_in(customer).get(f"/{customer.organisation.slug}/{path}").content.decode()
    assert html.count('aria-current="page"') == 1
    assert f'aria-current="page">{current}</a>' in html


def test_pages_carry_the_organisations_branding(sign_in, customer):
    organisation = customer.organisation
    organisation.support_phone = "+44 20 7946 0000"
    organisation.save()
    organisation.portals.update(name="Lumière Voyages", accent_colour="#0f5c8a")
    html = sign_in(customer).get(f"/{organisation.slug}/").content.decode()
    assert "Lumière Voyages" in html
    assert f"/{organisation.slug}/theme.css?v={primary_portal_of(organisation).theme.version}" in html
    assert 'href="tel:+44 20 7946 0000"' in html
    assert f'href="mailto:{organisation.support_email}"' in html


def test_nav_links_to_conversations_and_marks_the_current_page(sign_in, customer):
    html = sign_in(customer).get(f"/{customer.organisation.slug}/conversations/").content.decode()

    assert f'<a href="/{customer.organisation.slug}/conversations/" aria-current="page">Conversations</a>' in html


def test_the_support_nav_item_is_current_on_support_pages(sign_in, customer):
    page = sign_in(customer).get(f"/{customer.organisation.slug}/support/").content.decode()
    assert f'<a href="/{customer.organisation.slug}/support/" aria-current="page">Support</a>' in page
