"""Assign a password / lost password: one flow through an emailed, single-use, hashed link."""

import re
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone
from markupsafe import escape

from bookings.models import Attendee, Booking
from portal_auth import known_browsers
from portal_auth.doors.password import forms
from portal_auth.doors.password.forms import SIGN_IN_REFUSED as _REFUSED
from portal_auth.models import AccessEvent, Customer, CustomerToken, hash_token
from portal_auth.passwords import validate_customer_password
from portal_core import ratelimit
from tests.conftest import as_shown, link_in
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory

NEW_PASSWORD = "a quiet lighthouse on the hill"
SIGN_IN_REFUSED = str(escape(_REFUSED))  # as the page (Jinja2) escapes it: ' as &#39;


def request_link(client, organisation, email, **headers):
    return client.post(f"/{organisation.slug}/password/", {"email": email}, **headers)


def emailed_link(mailoutbox):
    return link_in(mailoutbox[-1].body, "/password/link/")


def open_link(client, link):
    """Open the emailed link as a browser does, following its redirect to the clean URL."""
    return client.get(link.removeprefix("https://portal.example.test"), follow=True)


@pytest.fixture
def sent_link(client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, organisation, attendee_email)
    return emailed_link(mailoutbox)


def test_known_attendee_gets_a_link_and_a_customer_record(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, organisation, "  ANA.Sousa@example.com ")
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/password/sent/"
    customer = Customer.objects.get(organisation=organisation, email=attendee_email)
    assert not customer.has_password
    [email] = mailoutbox
    assert email.to == [attendee_email]
    assert organisation.public_name in email.subject
    link = emailed_link(mailoutbox)
    assert link.startswith(f"https://portal.example.test/{organisation.slug}/password/link/")
    html = email.alternatives[0][0]
    assert link in html
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_LINK_SENT, customer=customer).exists()


def test_link_is_built_from_site_url_not_the_host_header(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, organisation, attendee_email, HTTP_HOST="localhost")
    assert "localhost" not in mailoutbox[0].body
    assert emailed_link(mailoutbox).startswith("https://portal.example.test/")


def test_token_is_stored_only_hashed(sent_link):
    raw = sent_link.rstrip("/").rsplit("/", 1)[1]
    token = CustomerToken.objects.get()
    assert token.token_hash == hash_token(raw)
    assert raw not in repr(list(CustomerToken.objects.values()))
    assert raw not in repr(list(AccessEvent.objects.values()))


def test_unknown_email_gets_the_same_answer_and_nothing_else(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = request_link(client, organisation, attendee_email)
        unknown = request_link(client, organisation, "stranger@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mailoutbox) == 1
    assert not Customer.objects.filter(email="stranger@example.com").exists()
    page = client.get(unknown["Location"]).content.decode()
    assert "stranger@example.com" in page and "If" in page


def test_main_contact_email_alone_does_not_count(client, organisation, mailoutbox, django_capture_on_commit_callbacks):
    booking = Booking.objects.create(
        organisation=organisation,
        title="Porto",
        starts_on=timezone.now().date(),
        ends_on=timezone.now().date(),
        main_contact_email="boss@example.com",
    )
    Attendee.objects.create(booking=booking, name="Someone Else", email="someone@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, organisation, "boss@example.com")
    assert mailoutbox == []
    assert not Customer.objects.filter(email="boss@example.com").exists()


def test_attendee_of_another_organisation_gets_nothing(
    client, other_organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, other_organisation, attendee_email)
    assert mailoutbox == []


def test_invalid_email_is_refused_with_a_message(client, organisation):
    response = client.post(f"/{organisation.slug}/password/", {"email": "not-an-email"})
    assert response.status_code == 200
    assert "Enter an email address like name@example.com." in response.content.decode()


def test_opening_the_link_moves_the_token_out_of_the_url(client, sent_link):
    response = client.get(sent_link.removeprefix("https://portal.example.test"))
    assert response.status_code == 302
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Location"].endswith("/password/set/")
    assert "link" not in response["Location"]
    # A mail scanner following the link does not use it up.
    assert CustomerToken.objects.get().used_at is None
    form = client.get(response["Location"])
    assert form.status_code == 200
    assert "Choose your password" in form.content.decode()


def test_setting_the_password_uses_up_the_link(
    client, organisation, attendee_email, sent_link, mailoutbox, django_capture_on_commit_callbacks
):
    open_link(client, sent_link)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/{organisation.slug}/password/set/",
            as_shown(
                client, f"/{organisation.slug}/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
            ),
        )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{organisation.slug}/sign-in/")
    customer = Customer.objects.get(email=attendee_email)
    assert customer.check_password(NEW_PASSWORD)
    assert CustomerToken.objects.get().used_at is not None
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_SET, customer=customer).exists()
    confirmation = mailoutbox[-1]
    assert "password" in confirmation.subject.lower() and "changed" in confirmation.subject.lower()
    assert confirmation.alternatives, "every email has an HTML part"
    assert "Your password is set" in client.get(response["Location"]).content.decode()
    # The same link, opened again, no longer works.
    again = open_link(client, sent_link)
    assert again.status_code == 404
    assert "no longer works" in again.content.decode()
    # And the customer can sign in with the new password.
    signed_in = client.post(f"/{organisation.slug}/sign-in/", {"email": attendee_email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_set_page_without_a_link_is_refused(client, organisation):
    response = client.get(f"/{organisation.slug}/password/set/")
    assert response.status_code == 404


def test_link_expires_after_sixty_minutes(client, sent_link):
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = open_link(client, sent_link)
    assert response.status_code == 404


def test_link_expiring_between_opening_and_submitting_is_refused(client, organisation, attendee_email, sent_link):
    open_link(client, sent_link)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = client.post(
            f"/{organisation.slug}/password/set/",
            as_shown(
                client, f"/{organisation.slug}/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
            ),
        )
    assert response.status_code == 404
    assert not Customer.objects.get(email=attendee_email).has_password


def test_link_dies_when_the_password_changes(client, organisation, attendee_email, sent_link):
    customer = Customer.objects.get(email=attendee_email)
    from portal_auth.services import customer_password_reset_by_staff

    customer_password_reset_by_staff(origin=None, customer=customer, password=NEW_PASSWORD, staff_user=None)
    assert open_link(client, sent_link).status_code == 404


@pytest.fixture
def customers_link(client, customer, mailoutbox, django_capture_on_commit_callbacks):
    """A password link the customer, who has a password already, asked for and has not used."""
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, customer.organisation, customer.email)
    return emailed_link(mailoutbox)


def test_link_dies_when_the_customer_signs_in_with_their_password(customer, customers_link):
    browser = Client()
    signed_in = browser.post(
        f"/{customer.organisation.slug}/sign-in/", {"email": customer.email, "password": CUSTOMER_PASSWORD}
    )
    assert signed_in.status_code == 302
    refused = open_link(Client(), customers_link)
    assert refused.status_code == 404
    assert "no longer works" in refused.content.decode()
    assert not CustomerToken.objects.get(purpose=CustomerToken.Purpose.SET_PASSWORD).is_usable


@pytest.mark.parametrize("door", ["access_link", "external_sign_on"])
def test_link_opened_before_a_sign_in_through_any_door_no_longer_sets_a_password(
    client, customer, customers_link, sign_in, door
):
    open_link(client, customers_link)  # the form to choose a password is open in one tab…
    sign_in(customer, method=door)  # …while the customer gets in another way

    response = client.post(
        f"/{customer.organisation.slug}/password/set/",
        as_shown(
            client,
            f"/{customer.organisation.slug}/password/set/",
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        ),
    )

    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD) and not customer.check_password(NEW_PASSWORD)
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_SET).exists()


def test_older_links_die_when_a_newer_one_is_used(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, organisation, attendee_email)
        request_link(client, organisation, attendee_email)
    first, second = (link_in(m.body, "/password/link/") for m in mailoutbox)
    open_link(client, second)
    client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    )
    assert open_link(client, first).status_code == 404


def test_token_from_another_organisation_is_refused(client, other_organisation, sent_link):
    raw = sent_link.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/{other_organisation.slug}/password/link/{raw}/", follow=True).status_code == 404


def set_password_errors(client, organisation, sent_link, password1, password2=None):
    open_link(client, sent_link)
    response = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(
            client, f"/{organisation.slug}/password/set/", {"password1": password1, "password2": password2 or password1}
        ),
    )
    assert response.status_code == 200
    return response.context["form"].errors


def test_password_shorter_than_15_characters_is_refused(client, organisation, sent_link):
    errors = set_password_errors(client, organisation, sent_link, "fourteen chars")
    assert "at least 15 characters" in str(errors["password1"])


def test_common_password_is_refused(client, organisation, sent_link):
    errors = set_password_errors(client, organisation, sent_link, "polniypizdec0211")
    assert "too common" in str(errors["password1"])


def test_password_like_the_email_is_refused(client, organisation, sent_link, attendee_email):
    errors = set_password_errors(client, organisation, sent_link, attendee_email)
    assert "too similar" in str(errors["password1"])


def test_password_like_the_organisation_name_is_refused(client, organisation, sent_link):
    organisation.name = "Voyages Lumiere Travel"
    organisation.save()
    errors = set_password_errors(client, organisation, sent_link, "voyages lumiere travel")
    assert "too similar" in str(errors["password1"])


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("passwordpassword", "repeats itself"),
        ("iloveyouiloveyou", "repeats itself"),
        ("qwertyuiopasdfgh", "passwords many people use"),
        ("1234567890123456", "easy to guess"),
        ("zyxwvutsrqponmlk", "runs in order"),
    ],
)
def test_patterns_long_enough_to_pass_the_length_rule_are_refused_and_explained(
    client, organisation, sent_link, attendee_email, password, reason
):
    errors = set_password_errors(client, organisation, sent_link, password)
    message = str(errors["password1"])
    assert reason in message
    assert "unrelated words" in message
    assert not Customer.objects.get(email=attendee_email).has_password


def test_the_emails_name_and_a_year_are_refused(client, organisation, sent_link, attendee_email):
    local_part = attendee_email.split("@")[0]  # ana.sousa
    errors = set_password_errors(client, organisation, sent_link, f"{local_part}.1987!!")
    assert "your email address, your name or" in str(errors["password1"])


def test_the_portals_own_words_are_refused(client, organisation, sent_link):
    organisation.name = "Lumiere Travel"
    organisation.save()
    errors = set_password_errors(client, organisation, sent_link, "lumiere customer portal")
    assert "your email address, your name or" in str(errors["password1"])


@pytest.mark.parametrize(
    "password",
    [
        NEW_PASSWORD,
        CUSTOMER_PASSWORD,
        "only lowercase letters and spaces",
        "a long and quite memorable phrase",
        "demo password for the portal",
        "a bench password, long enough",
    ],
)
def test_phrases_of_unrelated_words_pass_the_strength_rule(organisation, password):
    customer = CustomerFactory(organisation=organisation, email="ana.sousa@example.com", name="Ana Sousa")
    validate_customer_password(password, customer)


def test_a_very_long_repeat_is_refused_however_long(organisation):
    customer = CustomerFactory(organisation=organisation)
    with pytest.raises(ValidationError, match="repeats itself"):
        validate_customer_password("password" * 32, customer)


def test_differing_passwords_are_refused(client, organisation, sent_link):
    errors = set_password_errors(client, organisation, sent_link, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert "differ" in str(errors["password2"])
    assert "password1" not in errors


def test_a_short_password_typed_twice_differently_hears_of_both_at_once(client, organisation, sent_link):
    errors = set_password_errors(client, organisation, sent_link, "abc", "abd")
    assert "differ" in str(errors["password2"]) and "at least 15 characters" in str(errors["password1"])


def test_choosing_a_password_is_explained_in_one_sentence(client, organisation, sent_link):
    open_link(client, sent_link)
    page = client.get(f"/{organisation.slug}/password/set/").content.decode()
    assert "At least 15 characters; a few unrelated words make a strong password" in page
    assert "can’t be a commonly used password" not in page  # each rule is said when a password breaks it


def test_signing_in_with_the_email_known_starts_at_the_password(client, organisation):
    page = client.get(f"/{organisation.slug}/sign-in/?email=ana%40example.com").content.decode()
    assert re.search(r'<input type="password"[^>]* autofocus', page)
    assert not re.search(r'<input type="email"[^>]* autofocus', page)
    blank = client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert re.search(r'<input type="email"[^>]* autofocus', blank)


def test_password_needs_no_composition_rules(client, organisation, sent_link, attendee_email):
    open_link(client, sent_link)
    password = "only lowercase letters and spaces"
    response = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": password, "password2": password}),
    )
    assert response.status_code == 302


def test_long_passwords_are_accepted_and_never_truncated(client, organisation, sent_link, attendee_email):
    password = "correct horse battery staple " * 8  # 232 characters
    open_link(client, sent_link)
    response = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": password, "password2": password}),
    )
    assert response.status_code == 302
    customer = Customer.objects.get(email=attendee_email)
    assert customer.check_password(password)
    assert not customer.check_password(password[:-1])
    assert not customer.check_password(password[:72])


def test_password_over_256_characters_is_refused_with_a_message(client, organisation, sent_link):
    errors = set_password_errors(client, organisation, sent_link, "x" * 200 + " y" * 29)
    assert "at most 256 characters" in str(errors["password1"])


def test_requests_for_one_email_are_rate_limited(
    client, organisation, attendee_email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert request_link(client, organisation, attendee_email).status_code == 302
        response = request_link(client, organisation, attendee_email)
    assert response.status_code == 429
    assert CustomerToken.objects.count() == 3


def test_requests_from_one_ip_are_rate_limited(client, organisation):
    for number in range(10):
        request_link(client, organisation, f"person{number}@example.com")
    assert request_link(client, organisation, "one-more@example.com").status_code == 429


def test_existing_customer_without_booking_can_still_get_a_link(
    client, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organisation=organisation)
    with django_capture_on_commit_callbacks(execute=True):
        request_link(client, organisation, customer.email)
    assert [m.to for m in mailoutbox] == [[customer.email]]


def test_customer_returns_where_they_were_going_after_choosing_a_password(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    target = f"/{organisation.slug}/bookings/"
    sign_in_page = client.get(f"/{organisation.slug}/sign-in/?next={target}").content.decode()
    assert f"/{organisation.slug}/password/?next=/{organisation.slug}/bookings/" in sign_in_page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/{organisation.slug}/password/", {"email": attendee_email, "next": target})
    open_link(client, emailed_link(mailoutbox))
    response = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    )
    assert response["Location"] == (
        f"/{organisation.slug}/sign-in/?email=ana.sousa%40example.com&next=%2F{organisation.slug}%2Fbookings%2F"
    )
    signed_in = client.post(response["Location"], {"email": attendee_email, "password": NEW_PASSWORD, "next": target})
    assert signed_in["Location"] == target


def test_next_outside_the_portal_is_not_carried_through_the_password_flow(client, organisation, attendee_email):
    client.post(f"/{organisation.slug}/password/", {"email": attendee_email, "next": "https://evil.example/"})
    assert client.session["portal_after_password"] == f"/{organisation.slug}/"


def test_stored_copy_of_the_email_loses_the_link_once_sent(sent_link):
    from outbox.models import OutboxEmail

    raw = sent_link.rstrip("/").rsplit("/", 1)[1]
    assert all(raw not in email.body_text + email.body_html for email in OutboxEmail.objects.all())


def test_a_dead_link_never_answers_an_error_at_the_tokens_url(client, organisation):
    # Django logs the path of every 4xx response: the token must not be in it.
    response = client.get(f"/{organisation.slug}/password/link/{'x' * 64}/")
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/password/set/"
    assert client.get(response["Location"]).status_code == 404
    assert "portal_password_token" not in client.session


def test_pages_and_email_say_the_configured_lifetime(
    client, settings, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PASSWORD_LINK_LIFETIME = timedelta(minutes=20)
    assert "for 20 minutes" in client.get(f"/{organisation.slug}/password/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, organisation, attendee_email, follow=True)
    assert "It works once, for 20 minutes." in response.content.decode()
    [email] = mailoutbox
    assert "for 20 minutes" in email.body and "for 20 minutes" in email.alternatives[0][0]
    with time_machine.travel(timezone.now() + timedelta(minutes=21)):
        refused = open_link(client, emailed_link(mailoutbox))
    assert refused.status_code == 404
    assert "work once, for 20 minutes" in refused.content.decode()


def test_choosing_a_password_with_empty_fields_says_what_is_missing(client, organisation, sent_link):
    open_link(client, sent_link)
    response = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": "", "password2": ""}),
    )
    html = response.content.decode()
    assert "Choose a password." in html and "Enter the same password again." in html
    assert not Customer.objects.get(organisation=organisation).has_password


def test_the_session_keeps_only_the_tokens_hash(client, sent_link):
    raw = sent_link.rstrip("/").rsplit("/", 1)[1]
    client.get(sent_link.removeprefix("https://portal.example.test"))
    assert client.session["portal_password_token"] == hash_token(raw)
    assert raw not in repr(dict(client.session.items()))


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("suffix", ["", "/", "/extra"])
def test_no_error_status_ever_answers_at_the_tokens_url(organisation, method, suffix):
    from django.test import Client

    # A CSRF refusal or a 404 would put the URL, token and all, in the request log.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(f"/{organisation.slug}/password/link/{'t' * 64}{suffix}")
    assert response.status_code in (301, 302)


def test_a_link_for_an_unknown_organisation_redirects_without_an_error(client, db):
    response = client.get(f"/no-such-business/password/link/{'t' * 64}/")
    assert (response.status_code, response["Location"]) == (302, "/")


def test_signing_in_rotates_the_csrf_token(client, customer):
    from tests.factories import CUSTOMER_PASSWORD

    client.get(f"/{customer.organisation.slug}/sign-in/")
    before = client.cookies["csrftoken"].value
    client.post(f"/{customer.organisation.slug}/sign-in/", {"email": customer.email, "password": CUSTOMER_PASSWORD})
    assert client.cookies["csrftoken"].value != before


def test_the_link_is_made_after_the_response_so_its_timing_tells_nothing(
    client, organisation, attendee_email, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as pending:
        response = request_link(client, organisation, attendee_email)
    # The answer is ready before any look-up of the email, token or email was made.
    assert response.status_code == 302
    assert not CustomerToken.objects.exists() and mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        for work in pending:
            work()
    assert CustomerToken.objects.count() == 1 and len(mailoutbox) == 1


# The door open and closed

# Each page and what it says open; the set page without a link says the link is dead, with its own 404.
PASSWORD_PAGES = {
    "password/": (200, "<h1>Assign a password</h1>"),
    "password/sent/": (200, "<h1>Check your email</h1>"),
    "password/set/": (404, "<h1>This link no longer works</h1>"),
}


@pytest.mark.parametrize("page", PASSWORD_PAGES)
def test_the_password_doors_pages_answer_when_it_is_open(client, organisation, page):
    response = client.get(f"/{organisation.slug}/{page}")

    status, heading = PASSWORD_PAGES[page]
    assert response.status_code == status
    assert heading in response.content.decode()


@pytest.mark.parametrize("page", PASSWORD_PAGES)
def test_the_password_doors_pages_answer_404_when_it_is_closed(client, organisation, page):
    organisation.doors = ["access_link"]
    organisation.save()

    for response in (client.get(f"/{organisation.slug}/{page}"), client.post(f"/{organisation.slug}/{page}")):
        assert response.status_code == 404
        assert PASSWORD_PAGES[page][1] not in response.content.decode()


def test_a_closed_password_door_sends_no_link_and_signs_no_one_in(
    client, organisation, customer, mailoutbox, django_capture_on_commit_callbacks
):
    organisation.doors = ["access_link"]
    organisation.save()

    with django_capture_on_commit_callbacks(execute=True):
        asked = request_link(client, organisation, customer.email)
    signed = client.post(f"/{organisation.slug}/sign-in/", {"email": customer.email, "password": CUSTOMER_PASSWORD})

    assert asked.status_code == 404 and signed.status_code == 404
    assert mailoutbox == []
    assert "portal_customer_id" not in client.session
    assert not AccessEvent.objects.filter(kind__in=[AccessEvent.Kind.SIGN_IN, AccessEvent.Kind.SIGN_IN_FAILED]).exists()


def test_a_password_link_asked_for_just_before_the_door_closed_is_not_sent(
    client, organisation, customer, database_tasks, run_worker, mailoutbox
):
    asked = request_link(client, organisation, customer.email)
    organisation.doors = ["access_link"]  # staff close the door before the worker gets to the request
    organisation.save()
    run_worker()

    assert asked.status_code == 302
    assert mailoutbox == []
    assert not CustomerToken.objects.filter(purpose=CustomerToken.Purpose.SET_PASSWORD).exists()


def test_a_password_link_sent_before_the_door_closed_sets_no_password(client, organisation, attendee_email, sent_link):
    organisation.doors = ["access_link"]
    organisation.save()

    landed = open_link(client, sent_link)
    posted = client.post(
        f"/{organisation.slug}/password/set/",
        as_shown(client, f"/{organisation.slug}/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}),
    )

    assert landed.status_code == 404 and posted.status_code == 404
    assert not Customer.objects.get(organisation=organisation, email=attendee_email).has_password


# The password form on the sign-in page


def sign_in_url(organisation):
    return f"/{organisation.slug}/sign-in/"


def post_sign_in(client, organisation, email, password, **extra):
    return client.post(
        sign_in_url(organisation), {"email": email, "password": password, **extra}, **extra.pop("headers", {})
    )


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


def test_the_password_is_set_for_the_account_its_page_named_not_one_another_link_filed_since(
    client, organisation, attendee_email
):
    victim = Customer.objects.create(organisation=organisation, email=attendee_email)
    attacker = CustomerFactory(organisation=organisation, email="attacker@example.com")
    _, victims_raw = CustomerToken.issue(
        customer=victim, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    _, attackers_raw = CustomerToken.issue(
        customer=attacker, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    page = f"/{organisation.slug}/password/set/"
    client.get(f"/{organisation.slug}/password/link/{victims_raw}/")
    shown = as_shown(client, page, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.get(f"/{organisation.slug}/password/link/{attackers_raw}/")  # another site's link, in the same browser

    response = client.post(page, shown)

    assert response.status_code == 302
    assert response["Location"] == page
    victim.refresh_from_db()
    attacker.refresh_from_db()
    assert not victim.has_password and not attacker.has_password


def test_strangers_wrong_passwords_do_not_shut_out_a_browser_the_customer_signed_in_from(customer):
    own = Client(REMOTE_ADDR="198.51.100.7")
    assert post_sign_in(own, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 302
    own.post(f"/{customer.organisation.slug}/sign-out/")
    for number in range(5):
        stranger = Client(REMOTE_ADDR=f"203.0.113.{number}")
        post_sign_in(stranger, customer.organisation, customer.email, "wrong wrong wrong wrong")

    new_browser = post_sign_in(
        Client(REMOTE_ADDR="198.51.100.8"), customer.organisation, customer.email, CUSTOMER_PASSWORD
    )
    known_browser = post_sign_in(own, customer.organisation, customer.email, CUSTOMER_PASSWORD)

    assert new_browser.status_code == 429
    assert known_browser.status_code == 302
    assert own.session["portal_customer_id"] == customer.pk


def test_a_known_browsers_own_wrong_passwords_are_limited_too(client, customer):
    post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)
    client.post(f"/{customer.organisation.slug}/sign-out/")
    for _ in range(5):
        post_sign_in(client, customer.organisation, customer.email, "wrong wrong wrong wrong")

    assert post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 429


def test_the_browsers_cookie_is_its_own_kept_from_scripts_and_other_sites(client, customer):  # any door's sign-in
    response = post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD)

    cookie = response.cookies[known_browsers.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    assert customer.email not in cookie.value
    again = post_sign_in(Client(), customer.organisation, customer.email, CUSTOMER_PASSWORD).cookies[
        known_browsers.COOKIE
    ]
    assert again.value != cookie.value


@pytest.mark.parametrize("whose", ["another email", "another organisation", "forged"])
def test_a_browser_known_for_someone_else_counts_as_unknown(client, customer, other_organisation, whose):
    other = CustomerFactory(
        organisation=other_organisation if whose == "another organisation" else customer.organisation,
        email="someone.else@example.com",
        with_password=True,
    )
    post_sign_in(client, other.organisation, other.email, CUSTOMER_PASSWORD)
    if whose == "another organisation":  # the same email, at another organisation
        Customer.objects.filter(pk=other.pk).update(email=customer.email)
    if whose == "forged":
        client.cookies[known_browsers.COOKIE] = client.cookies[known_browsers.COOKIE].value[:-2] + "xx"
    for number in range(5):
        stranger = Client(REMOTE_ADDR=f"203.0.113.{number}")
        post_sign_in(stranger, customer.organisation, customer.email, "wrong wrong wrong wrong")

    assert post_sign_in(client, customer.organisation, customer.email, CUSTOMER_PASSWORD).status_code == 429
