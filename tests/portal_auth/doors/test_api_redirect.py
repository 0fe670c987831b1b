"""The sign-in URL the API makes: opened within 30 seconds it signs in, once; anything else signs nobody in."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from portal_auth.api_keys import api_key_create
from portal_auth.doors.api_redirect.views import TOKEN_SESSION_KEY
from portal_auth.doors.landing import landed_token_proof
from portal_auth.models import AccessEvent
from portal_auth.sessions import SESSION_CUSTOMER, SESSION_METHOD
from tests.factories import CustomerFactory, OrganisationFactory

SITE_URL = "https://portal.example.test"
EXPIRED_TEXT = "This link has expired"


@pytest.fixture
def organisation(db):
    return OrganisationFactory(doors=["password", "access_link", "api_redirect"])


@pytest.fixture
def end_user(organisation):
    return CustomerFactory(organisation=organisation, external_id="u-42", email="alice@example.com")


def make_url(organisation, return_to=""):
    key = api_key_create(organisation=organisation, name="Backend")[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/v1/portal-sessions",
        json.dumps({"customer": "u-42", "return_to": return_to}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["url"].removeprefix(SITE_URL)


def assert_signs_nobody_in(client, response, organisation, reason, sign_ins_before=0):
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/redirect/expired/"
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get(response["Location"])
    assert page.status_code == 410
    assert EXPIRED_TEXT in page.content.decode() and "Ask the app you came from for a new one" in page.content.decode()
    assert SESSION_CUSTOMER not in client.session
    assert AccessEvent.objects.filter(kind="sign_in_redirect_refused").latest("pk").reason == reason
    assert AccessEvent.objects.filter(kind="sign_in").count() == sign_ins_before


def test_the_url_signs_in_and_lands_on_return_to_with_a_clean_url(organisation, end_user):
    url = make_url(organisation, f"/{organisation.slug}/support/")
    client = Client()

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/support/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.session[SESSION_CUSTOMER] == end_user.pk
    assert client.session[SESSION_METHOD] == "api_redirect"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("method", "headers"),
    [("head", {}), ("get", {"HTTP_SEC_PURPOSE": "prefetch;prerender"}), ("get", {"HTTP_PURPOSE": "prefetch"})],
)
def test_a_preview_or_a_prefetch_uses_nothing_and_the_click_after_it_signs_in(organisation, end_user, method, headers):
    url = make_url(organisation)
    looker = Client()

    looked = getattr(looker, method)(url, **headers)

    assert looked.status_code == 503  # not a 2xx: a browser discards the prefetch and asks again on the click
    assert SESSION_CUSTOMER not in looker.session
    clicked = Client()
    assert clicked.get(url).status_code == 302 and clicked.session[SESSION_CUSTOMER] == end_user.pk


def test_a_second_use_signs_nobody_in(organisation, end_user):
    url = make_url(organisation)
    Client().get(url)
    second = Client()
    assert_signs_nobody_in(second, second.get(url), organisation, "used URL", sign_ins_before=1)


def test_at_31_seconds_it_signs_nobody_in(organisation, end_user):
    url = make_url(organisation)
    client = Client()
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        response = client.get(url)
    assert_signs_nobody_in(client, response, organisation, "expired URL")


def test_one_character_changed_signs_nobody_in(organisation, end_user):
    url = make_url(organisation)
    changed = url[:-1] + ("A" if url[-1] != "A" else "B")
    client = Client()
    assert_signs_nobody_in(client, client.get(changed), organisation, "unknown URL")
    assert Client().get(url)["Location"] == f"/{organisation.slug}/"  # the real one still works


def test_a_token_of_another_organisation_signs_nobody_in(organisation, end_user):
    other = OrganisationFactory(doors=["api_redirect"])
    url = make_url(organisation).replace(f"/{organisation.slug}/", f"/{other.slug}/")
    client = Client()
    assert_signs_nobody_in(client, client.get(url), other, "unknown URL")


def test_an_organisation_can_ask_for_continue_as_first(organisation, end_user):
    organisation.redirect_confirms = True
    organisation.save()
    url = make_url(organisation, f"/{organisation.slug}/support/")
    client = Client()

    landed = client.get(url)
    assert landed["Location"] == f"/{organisation.slug}/redirect/continue/"
    page = client.get(landed["Location"])
    assert page.status_code == 200
    assert "Continue as alice@example.com" in page.content.decode()
    assert SESSION_CUSTOMER not in client.session

    proof = landed_token_proof(client.session[TOKEN_SESSION_KEY])
    pressed = client.post(f"/{organisation.slug}/redirect/continue/", {"link": proof})
    assert pressed["Location"] == f"/{organisation.slug}/support/"
    assert client.session[SESSION_CUSTOMER] == end_user.pk


def test_the_continue_page_reloaded_after_the_press_is_no_guess_and_is_not_logged(organisation, end_user, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "sign_in_redirect_guess": "2/5m/ip"}
    organisation.redirect_confirms = True
    organisation.save()
    continue_page = f"/{organisation.slug}/redirect/continue/"
    client = Client()
    client.get(make_url(organisation))
    client.post(continue_page, {"link": landed_token_proof(client.session[TOKEN_SESSION_KEY])})
    assert client.session[SESSION_CUSTOMER] == end_user.pk
    stranger = Client()  # nothing in its session at all

    reloaded = [client.get(continue_page)["Location"] for _ in range(3)]
    visited = [stranger.get(continue_page)["Location"] for _ in range(3)]

    assert reloaded == [f"/{organisation.slug}/"] * 3
    assert visited == [f"/{organisation.slug}/redirect/expired/"] * 3
    assert not AccessEvent.objects.filter(kind="sign_in_redirect_refused").exists()
    assert Client().get(make_url(organisation))["Location"] == continue_page  # a real URL from the address still lands


def test_behind_a_closed_door_the_url_signs_nobody_in(organisation, end_user):
    url = make_url(organisation)
    organisation.doors = ["password"]
    organisation.save()
    client = Client()
    landed = client.get(url, follow=True)
    assert landed.status_code == 404
    assert SESSION_CUSTOMER not in client.session


def test_guessing_is_rate_limited(organisation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "sign_in_redirect_guess": "2/5m/ip"}
    client = Client()
    for _ in range(2):
        assert client.get(f"/{organisation.slug}/redirect/guess")["Location"].endswith("/redirect/expired/")
    assert client.get(f"/{organisation.slug}/redirect/guess").status_code == 429
