import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone
from django.utils.html import escape

from portal_auth import forms
from portal_auth.forms import SIGN_IN_REFUSED as _REFUSED
from portal_auth.models import AccessEvent
from portal_core import ratelimit
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory

SIGN_IN_REFUSED = escape(_REFUSED)


def sign_in_url(organisation):
    return f"/{organisation.slug}/sign-in/"


def post_sign_in(client, organisation, email, password, **extra):
    return client.post(
        sign_in_url(organisation), {"email": email, "password": password, **extra}, **extra.pop("headers", {})
    )


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


def test_email_is_matched_whatever_its_case(client, customer):
    response = post_sign_in(client, customer.organisation, customer.email.upper(), CUSTOMER_PASSWORD)
    assert response.status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, customer):
    wrong_password = post_sign_in(client, customer.organisation, customer.email, "not the password at all")
    unknown_email = post_sign_in(client, customer.organisation, "nobody@example.com", "not the password at all")
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert SIGN_IN_REFUSED in wrong_password.content.decode()
    assert SIGN_IN_REFUSED in unknown_email.content.decode()
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN_FAILED).count() == 2
    assert "portal_customer_id" not in client.session


def test_customer_without_password_cannot_sign_in_with_an_empty_one(client, organisation):
    customer = CustomerFactory(organisation=organisation)
    response = post_sign_in(client, organisation, customer.email, "")
    assert response.status_code == 200
    assert "portal_customer_id" not in client.session


def test_customer_of_another_organisation_cannot_sign_in_here(client, customer, other_organisation):
    response = post_sign_in(client, other_organisation, customer.email, CUSTOMER_PASSWORD)
    assert SIGN_IN_REFUSED in response.content.decode()


def test_deactivated_customer_cannot_sign_in(client, customer):
    customer.is_active = False
    customer.save()
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    assert SIGN_IN_REFUSED in response.content.decode()


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
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(sign_in_url(customer.organisation), {"email": customer.email, "password": CUSTOMER_PASSWORD})
    assert response.status_code == 403
    assert "portal_customer_id" not in client.session


def test_failed_sign_ins_per_email_are_rate_limited(client, customer):
    for _ in range(5):
        post_sign_in(client, customer.organisation, customer.email, "wrong wrong wrong wrong")
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    assert response.status_code == 429
    assert "try again in" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "portal_customer_id" not in client.session


def test_failed_sign_ins_per_ip_are_rate_limited_across_emails(client, organisation):
    for number in range(20):
        post_sign_in(client, organisation, f"guess{number}@example.com", "wrong wrong wrong wrong")
    response = post_sign_in(client, organisation, "guess-more@example.com", "wrong wrong wrong wrong")
    assert response.status_code == 429


def test_rate_limit_lifts_when_the_window_passes(client, customer):
    for _ in range(5):
        post_sign_in(client, customer.organisation, customer.email, "wrong wrong wrong wrong")
    assert post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 302


def test_successful_sign_ins_do_not_count_against_the_limit(client, customer):
    for _ in range(8):
        assert post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 302


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


def test_empty_fields_are_named_in_plain_words(client, organisation):
    response = client.post(sign_in_url(organisation), {"email": "", "password": ""})
    html = response.content.decode()
    assert "Enter your email address." in html and "Enter your password." in html
    assert "portal_customer_id" not in client.session


def test_locked_account_stays_locked_under_traffic_from_many_keys(client, customer, production_cache):
    for _ in range(5):
        post_sign_in(client, customer.organisation, customer.email, "wrong wrong wrong wrong")
    # Ordinary traffic of a few hundred other customers, each counted under its own key.
    for number in range(350):
        request = RequestFactory().post("/", REMOTE_ADDR=f"10.1.{number // 250}.{number % 250}")
        ratelimit.consume("ticket_write", request, key=f"customer:{number}")
    response = post_sign_in(client, customer.organisation, customer.email, "one more guess, the sixth")
    assert response.status_code == 429
    assert "portal_customer_id" not in client.session
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN_FAILED).count() == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_run_no_more_password_checks_than_the_limit(monkeypatch, production_cache):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is shared between threads with table locks, not waits")
    customer = CustomerFactory(with_password=True)
    checks = []
    real_authenticate = forms.customer_authenticate

    def slow_authenticate(**kwargs):
        checks.append(kwargs["email"])
        # Stands in for the ~150 ms of a production password hash, the window parallel guesses aim at.
        time.sleep(0.15)
        return real_authenticate(**kwargs)

    monkeypatch.setattr(forms, "customer_authenticate", slow_authenticate)
    start = threading.Barrier(40)
    statuses: list[int] = []

    def guess(number: int) -> None:
        try:
            start.wait()
            response = post_sign_in(Client(), customer.organisation, customer.email, f"wrong guess number {number:03}")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == 40
    assert len(checks) <= 5
    assert statuses.count(200) == len(checks) and statuses.count(429) == 40 - len(checks)
