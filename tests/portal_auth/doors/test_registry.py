"""The door registry: which doors exist, which an organisation opens, and the sign-in page drawn from them."""

import pytest
from django.core.exceptions import ValidationError

from portal_auth.doors.registry import DOOR_KEYS, DOORS, default_door_keys, open_doors, validate_door_keys
from tests.factories import OrganisationFactory


def test_a_new_organisation_opens_passwords_and_emailed_links_but_not_custom_sign_on(db):
    organisation = OrganisationFactory()

    organisation.refresh_from_db()
    assert organisation.doors == ["password", "access_link"] == default_door_keys()
    assert [door.key for door in open_doors(organisation)] == ["password", "access_link"]
    assert not organisation.external_sign_on_enabled


@pytest.mark.parametrize(
    ("doors", "message"),
    [
        (["password", "one_time_code"], "Unknown door: one_time_code. Known doors: external_sign_on, password"),
        ("password", "List the doors by their keys."),
        ([1], "List the doors by their keys."),
    ],
)
def test_doors_not_in_the_registry_are_refused_with_the_known_ones_named(db, doors, message):
    organisation = OrganisationFactory.build(doors=doors)

    with pytest.raises(ValidationError) as refused:
        organisation.full_clean()

    assert message in " ".join(refused.value.message_dict["doors"])


def test_doors_are_kept_once_each_in_the_registrys_order(db):
    organisation = OrganisationFactory.build(doors=["access_link", "password", "access_link"])

    organisation.full_clean()

    assert organisation.doors == ["password", "access_link"]


def test_custom_sign_on_switched_as_a_flag_opens_and_closes_its_door_alone(db):
    organisation = OrganisationFactory(doors=["access_link"])

    organisation.external_sign_on_enabled = True
    assert organisation.doors == ["external_sign_on", "access_link"]
    organisation.external_sign_on_enabled = False
    assert organisation.doors == ["access_link"]


def test_every_door_has_its_sign_in_part_and_urls():
    from django.template.loader import get_template
    from django.utils.module_loading import import_module

    assert len(set(DOOR_KEYS)) == len(DOORS)
    for door in DOORS:
        # A door the sign-in page doesn't show (sign-in URLs from the business's app) has no part on it.
        assert door.key == "api_redirect" or get_template(door.sign_in_template)
        assert import_module(door.urls).urlpatterns
    validate_door_keys(list(DOOR_KEYS))


def sign_in_page(client, organisation):
    response = client.get(f"/{organisation.slug}/sign-in/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_sign_in_page_shows_each_open_door_in_the_registrys_order(client, db):
    organisation = OrganisationFactory(
        doors=["password", "access_link", "external_sign_on"],
        external_sign_on_url="https://login.business.example/",
        external_sign_on_secret="s" * 64,
    )

    html = sign_in_page(client, organisation)

    button = html.index(f"Sign in with {organisation.public_name}")
    password = html.index('id="sign-in-form"')
    link = html.index(">Email me a link</a>")
    assert button < password < link
    assert html.count('<p class="sign-in-or">or</p>') == 2


def test_the_sign_in_page_shows_only_the_open_doors(client, db):
    organisation = OrganisationFactory(doors=["access_link"])

    html = sign_in_page(client, organisation)

    assert ">Email me a link</a>" in html
    assert 'id="sign-in-form"' not in html and "Assign a password" not in html
    assert "Sign in with" not in html and "sign-in-or" not in html


def test_an_organisation_with_every_door_closed_says_so(client, db):
    organisation = OrganisationFactory(doors=[])

    html = sign_in_page(client, organisation)

    assert "has no way to sign in to its portal open" in html
    assert "<form" not in html.split("<main", 1)[-1]
