"""portal_auth/session_views.py: the sign-in page and its sessions, and signing out."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from portal_auth.doors.password.forms import SIGN_IN_REFUSED as _REFUSED
from portal_auth.models import AccessEvent
from tests.factories import CUSTOMER_PASSWORD

SIGN_IN_REFUSED = escape(_REFUSED)


def sign_in_url(organisation):
    return f"/{organisation.slug}/sign-in/"


def post_sign_in(client, organisation, email, password, **extra):
    return client.post(
        sign_in_url(organisation), {"email": email, "password": password, **extra}, **extra.pop("headers", {})
    )


def test_sign_in_page_renders(client, organisation):
    response = client.get(f"/{organisation.slug}/sign-in/")
    assert response.status_code == 200
    assert b"Sign in to" in response.content


def test_sign_in_page_has_labelled_fields_and_choose_password_button(client, organisation):
    response = client.get(sign_in_url(organisation))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_email">' in html and '<label for="id_password">' in html
    assert f"/{organisation.slug}/password/" in html
    assert "Assign a password" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_sign_in_opens_a_portal_session_and_goes_home(client, customer):
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == f"/{customer.organisation.slug}/"
    home = client.get(response["Location"])
    assert home.status_code == 200
    assert customer.email in home.content.decode()
    customer.refresh_from_db()
    assert customer.last_sign_in_at is not None
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.SIGN_IN)
    assert event.customer == customer and event.method == "password" and event.ip == "127.0.0.1"


def test_session_key_changes_at_sign_in(client, customer):
    client.get(sign_in_url(customer.organisation))
    client.session["something"] = "before"
    session = client.session
    session["visited"] = True
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert before != after
    assert "visited" not in client.session


def test_session_cookie_is_secure_httponly_and_lax_outside_debug(client, customer):
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == int(customer.organisation.session_lifetime.total_seconds())


def test_session_ends_after_the_organisations_lifetime(client, customer):
    customer.organisation.session_lifetime = timedelta(hours=2)
    customer.organisation.save()
    post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    home = f"/{customer.organisation.slug}/"
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=59)):
        assert client.get(home).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        response = client.get(home)
        assert response.status_code == 302
        assert response["Location"].startswith(sign_in_url(customer.organisation))


def test_next_inside_the_portal_is_followed(client, customer):
    target = f"/{customer.organisation.slug}/bookings/"
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD, next=target)
    assert response["Location"] == target


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/other-org/bookings/", "javascript:alert(1)"]
)
def test_next_outside_the_portal_is_ignored(client, customer, target):
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD, next=target)
    assert response["Location"] == f"/{customer.organisation.slug}/"


def test_anonymous_visitor_of_a_portal_page_is_sent_to_sign_in_with_next(client, organisation):
    response = client.get(f"/{organisation.slug}/bookings/")
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/sign-in/?next=%2F{organisation.slug}%2Fbookings%2F"


def test_signed_in_session_is_not_valid_for_another_organisation(sign_in, customer, other_organisation):
    client = sign_in(customer)
    response = client.get(f"/{other_organisation.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{other_organisation.slug}/sign-in/")


def test_sign_out_ends_the_session_and_needs_post(sign_in, customer):
    client = sign_in(customer)
    url = f"/{customer.organisation.slug}/sign-out/"
    # A GET (a link, a bookmark) goes home, still signed in.
    assert client.get(url)["Location"] == f"/{customer.organisation.slug}/"
    assert client.get(f"/{customer.organisation.slug}/").status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    assert client.get(f"/{customer.organisation.slug}/").status_code == 302
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_OUT, customer=customer).exists()


def test_password_change_elsewhere_ends_this_session(sign_in, customer):
    client = sign_in(customer)
    customer.set_password("another long passphrase here")
    customer.save()
    assert client.get(f"/{customer.organisation.slug}/").status_code == 302


def test_customer_session_never_reaches_admin(sign_in, customer):
    client = sign_in(customer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_sign_in_form_is_protected_by_csrf(customer):

    client = Client(enforce_csrf_checks=True)
    response = client.post(sign_in_url(customer.organisation), {"email": customer.email, "password": CUSTOMER_PASSWORD})
    assert response.status_code == 403
    assert "portal_customer_id" not in client.session


def test_unknown_organisation_is_404(client, db):
    assert client.get("/no-such-business/sign-in/").status_code == 404


def test_sign_out_with_next_sends_to_sign_in_and_back(sign_in, customer):
    client = sign_in(customer)
    target = f"/{customer.organisation.slug}/bookings/"
    response = client.post(f"/{customer.organisation.slug}/sign-out/", {"next": target})
    assert (
        response["Location"]
        == f"/{customer.organisation.slug}/sign-in/?next=%2F{customer.organisation.slug}%2Fbookings%2F"
    )


def test_sign_out_ignores_a_next_outside_the_portal(sign_in, customer):
    client = sign_in(customer)
    response = client.post(f"/{customer.organisation.slug}/sign-out/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/{customer.organisation.slug}/sign-in/"
