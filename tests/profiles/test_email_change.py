"""Changing the address an account is known by: a link to the new address confirms it, the old one is told,
and every other session and emailed link ends, as with a new password."""

from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from outbox.models import OutboxEmail
from portal_auth.doors.access_link.services import notification_link_make
from portal_auth.known_browsers import COOKIE, rate_limit_key
from portal_auth.models import AccessEvent, Customer, CustomerToken, SignInCode, hash_token
from portal_auth.sessions import FRESH_SIGN_IN, SESSION_CUSTOMER, SESSION_PROVED_AT
from profiles.models import EmailChange
from tests.concurrency import calls_at_once
from tests.conftest import as_shown, link_in
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory
from tests.refusals import unmasked

NEW = "ana.new@example.com"


def url(customer, path: str = "") -> str:
    return f"/{customer.organisation.slug}/profile/{path}"


def ask(client, customer, new_email: str = NEW, password: str = CUSTOMER_PASSWORD):
    return client.post(url(customer, "email/"), {"new_email": new_email, "password": password})


def emailed_link(to: str = NEW) -> str:
    """The confirmation link in the email to `to`, as a path of the portal."""
    email = OutboxEmail.objects.get(to=to, template="profiles/emails/email_confirm")
    link = link_in(email.body_text, "/profile/email/link/")
    assert link in email.body_html and link in email.secrets  # scrubbed from the outbox's copy once sent
    return link.removeprefix(settings.SITE_URL)


def open_link(client, path: str):
    """What a browser does with the link: its landing files the token, the page shows a button; returns the page."""
    landing = client.get(path)
    assert landing.status_code == 302
    assert landing["Location"] == path.split("/profile/")[0] + "/profile/email/confirm/"
    assert landing["Referrer-Policy"] == "no-referrer"
    return client.get(landing["Location"])


def pressed(page) -> dict:
    """What the page's button sends: the proof of the link the page named, and the page's own token."""
    html = page.content.decode()
    return {name: html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0] for name in ("link", "sent_once_token")}


def press(client, page):
    return client.post(page.wsgi_request.path, pressed(page))


@pytest.fixture
def client_of(sign_in, customer):
    return sign_in(customer)


# Asking -----------------------------------------------------------------------------------------------------


def test_the_page_says_what_changes_before_anything_is_sent(client_of, customer):
    html = client_of.get(url(customer, "email/")).content.decode()
    assert f"Bookings made for {customer.email} will no longer show here" in html
    assert 'name="password"' in html and 'autocomplete="current-password"' in html
    assert "60 minutes" in html


def test_a_customer_without_a_password_signed_in_a_while_ago_signs_in_again_first(sign_in, organisation):
    passwordless = CustomerFactory(organisation=organisation)
    client = sign_in(passwordless, method="access_link")

    with time_machine.travel(timezone.now() + FRESH_SIGN_IN + timedelta(seconds=1)):
        page = client.get(url(passwordless, "email/"))
        refused = client.post(url(passwordless, "email/"), {"new_email": NEW})
        again = client.post(f"/{organisation.slug}/sign-out/", {"next": url(passwordless, "email/")})

    assert page.status_code == 200
    assert "Sign in again to change your email address" in page.content.decode()
    assert 'name="new_email"' not in page.content.decode()
    assert refused.status_code == 403
    assert not EmailChange.objects.exists() and not OutboxEmail.objects.exists()
    assert again["Location"] == f"/{organisation.slug}/sign-in/?next={quote(url(passwordless, 'email/'), safe='')}"
    sign_in(passwordless, client, method="access_link")
    assert 'name="new_email"' in client.get(url(passwordless, "email/")).content.decode()


def test_a_session_from_before_sign_in_times_were_kept_signs_in_again_too(sign_in, organisation):
    passwordless = CustomerFactory(organisation=organisation)
    client = sign_in(passwordless, method="access_link")
    session = client.session
    del session[SESSION_PROVED_AT]
    session.save()

    assert client.post(url(passwordless, "email/"), {"new_email": NEW}).status_code == 403
    assert not EmailChange.objects.exists()


def signed_in_by_emailed_link(customer, *, sent_ago: timedelta) -> Client:
    """A browser signed in just now through the link of a notification emailed `sent_ago`."""
    slug = customer.organisation.slug
    with time_machine.travel(timezone.now() - sent_ago):
        link = notification_link_make(customer=customer, next_path=f"/{slug}/")
    client = Client()
    client.get(link.url.removeprefix(settings.SITE_URL))
    assert client.post(f"/{slug}/link/open/", as_shown(client, f"/{slug}/link/open/"))["Location"] == f"/{slug}/"
    return client


def test_a_customer_without_a_password_signed_in_by_a_link_emailed_weeks_ago_signs_in_again_first(db):
    """A forwarded or old email opens the portal, and is no proof its holder holds the mailbox now."""
    passwordless = CustomerFactory(organisation=OrganisationFactory(notification_links_sign_in=True))
    client = signed_in_by_emailed_link(passwordless, sent_ago=timedelta(days=29))

    page = client.get(url(passwordless, "email/")).content.decode()
    refused = client.post(url(passwordless, "email/"), {"new_email": NEW})

    assert "Sign in again to change your email address" in page and 'name="new_email"' not in page
    assert "A link we emailed you more than 15 minutes ago doesn't count: ask for a new one." in page
    assert refused.status_code == 403
    assert not EmailChange.objects.exists() and not OutboxEmail.objects.filter(to=NEW).exists()


def test_a_customer_without_a_password_signed_in_by_a_link_emailed_minutes_ago_may_change_it(db):
    passwordless = CustomerFactory(organisation=OrganisationFactory(notification_links_sign_in=True))
    client = signed_in_by_emailed_link(passwordless, sent_ago=FRESH_SIGN_IN - timedelta(minutes=1))

    response = client.post(url(passwordless, "email/"), {"new_email": NEW})

    assert response.status_code == 302
    assert EmailChange.objects.get(customer=passwordless).new_email == NEW


def test_a_customer_with_a_password_gives_it_however_long_ago_they_signed_in(client_of, customer):
    with time_machine.travel(timezone.now() + FRESH_SIGN_IN + timedelta(minutes=1)):
        response = ask(client_of, customer)

    assert response.status_code == 302
    assert EmailChange.objects.get(customer=customer).new_email == NEW


def test_a_customer_without_a_password_is_not_asked_for_one(sign_in, organisation):
    passwordless = CustomerFactory(organisation=organisation)
    client = sign_in(passwordless, method="access_link")
    assert 'name="password"' not in client.get(url(passwordless, "email/")).content.decode()
    assert client.post(url(passwordless, "email/"), {"new_email": NEW}).status_code == 302
    assert EmailChange.objects.get(customer=passwordless).new_email == NEW


def test_asking_emails_a_single_use_link_to_the_new_address_only(client_of, customer):
    response = ask(client_of, customer, new_email="  Ana.New@Example.COM ")

    assert response.status_code == 302 and response["Location"] == url(customer, "email/sent/")
    sent = client_of.get(response["Location"]).content.decode()
    assert f"We sent an email to <strong>{NEW}</strong>" in sent
    assert f"Until then your address stays <strong>{customer.email}</strong>" in sent
    email = OutboxEmail.objects.get()
    assert email.to == NEW and email.subject == f"Confirm your new email address for {customer.organisation.name}"
    raw = emailed_link().rsplit("/", 1)[1]
    change = EmailChange.objects.get(customer=customer)
    assert change.token_hash == hash_token(raw) and raw not in change.token_hash  # only the hash is kept
    assert timedelta(minutes=59) < change.expires_at - timezone.now() <= timedelta(minutes=60)
    customer.refresh_from_db()
    assert customer.email != NEW  # nothing changes until the link is opened
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.EMAIL_CHANGE_REQUESTED)
    assert (event.customer, event.reason, event.ip) == (customer, f"to {NEW}", "127.0.0.1")


def test_an_address_of_another_customer_is_said_only_in_the_email_to_it(client_of, sign_in, customer, organisation):
    ask(client_of, customer, new_email="free@example.com")
    free_page = client_of.get(url(customer, "email/sent/"))
    other = CustomerFactory(organisation=organisation, email="taken@example.com")
    response = ask(client_of, customer, new_email="taken@example.com")
    taken_page = client_of.get(url(customer, "email/sent/"))

    assert response.status_code == 302 and response["Location"] == url(customer, "email/sent/")
    assert unaddressed(free_page, "free@example.com") == unaddressed(taken_page, "taken@example.com")
    email = OutboxEmail.objects.get(to=other.email)
    assert email.template == "profiles/emails/email_taken"
    assert "already belongs to an account" in email.body_text
    assert "/profile/email/link/" not in email.body_text + email.body_html  # no way to confirm it
    assert email.secrets == []
    assert OutboxEmail.objects.filter(to=customer.email).count() == 0
    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.email != other.email
    event = AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGE_REQUESTED).latest("pk")
    assert event.reason == "to taken@example.com, another customer's: told so, no link sent"


def unaddressed(response, address: str) -> str:
    assert address in response.content.decode()
    return unmasked(response.content.decode()).replace(address, "ADDRESS")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"new_email": "", "password": CUSTOMER_PASSWORD}, "Enter your new email address."),
        (
            {"new_email": "ana at example", "password": CUSTOMER_PASSWORD},
            "Enter an email address like name@example.com.",
        ),
        (
            # 194 characters as typed, 374 once lower-cased: "İ" is two characters in lower case.
            {"new_email": "a@" + ".".join(["İ" * 20] * 9) + ".com", "password": CUSTOMER_PASSWORD},
            "An email address has at most 254 characters.",
        ),
        ({"new_email": NEW, "password": ""}, "Enter your current password."),
        ({"new_email": NEW, "password": "not my password"}, "That password is wrong."),
        ({"new_email": "SAME", "password": CUSTOMER_PASSWORD}, "That is already your email address."),
    ],
)
def test_a_mistake_is_said_in_plain_words_and_nothing_is_sent(client_of, customer, data, message):
    if data["new_email"] == "SAME":
        data = {**data, "new_email": customer.email.upper()}
    response = client_of.post(url(customer, "email/"), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Change your email address" in html and "There is a problem" in html
    assert message in html
    assert not OutboxEmail.objects.exists() and not EmailChange.objects.exists()


def test_the_same_request_sent_again_at_once_sends_nothing_more_and_its_link_still_works(client_of, customer):
    """A double click, or a press again while the email is on its way: one email, whose link moves the account."""
    ask(client_of, customer)
    with time_machine.travel(timezone.now() + timedelta(seconds=90)):
        again = ask(client_of, customer, new_email=NEW.upper())

        assert again["Location"] == url(customer, "email/sent/")
        assert OutboxEmail.objects.filter(to=NEW).count() == 1
        assert AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGE_REQUESTED).count() == 1
        assert press(client_of, open_link(client_of, emailed_link()))["Location"] == url(customer)
    customer.refresh_from_db()
    assert customer.email == NEW
    for number in range(2):  # the repeat cost none of the three requests an hour
        assert ask(client_of, customer, new_email=f"next{number}@example.com").status_code == 302


def test_asking_again_for_the_same_address_minutes_later_sends_a_new_link(client_of, customer):
    """The first email may be lost: the sent page says to ask again after a few minutes."""
    ask(client_of, customer)
    first = emailed_link()
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        ask(client_of, customer)
        latest = OutboxEmail.objects.filter(to=NEW).latest("pk")

        assert OutboxEmail.objects.filter(to=NEW).count() == 2
        assert "if you asked again since, the link in the latest email is the one that works" in latest.body_text
        assert open_link(Client(), first).status_code == 404


def test_requests_are_rate_limited_per_customer(client_of, customer):
    for number in range(3):
        assert ask(client_of, customer, new_email=f"new{number}@example.com").status_code == 302
    response = ask(client_of, customer, new_email="new3@example.com")
    assert response.status_code == 429
    assert OutboxEmail.objects.count() == 3
    assert EmailChange.objects.get(customer=customer).new_email == "new2@example.com"


def test_wrong_passwords_here_count_with_the_sign_in_pages(client_of, customer):
    for _ in range(5):
        assert ask(client_of, customer, password="guess").status_code == 200
    assert ask(client_of, customer).status_code == 429
    assert not OutboxEmail.objects.exists()


def test_the_request_form_needs_its_csrf_token(sign_in, customer):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert ask(client, customer).status_code == 403
    assert not OutboxEmail.objects.exists()


# Confirming -------------------------------------------------------------------------------------------------


def test_confirming_moves_the_account_keeps_this_browser_and_ends_every_other_way_in(
    client_of, sign_in, customer, organisation
):
    elsewhere = sign_in(customer)  # the customer's phone, say
    assert elsewhere.get(url(customer)).status_code == 200
    client_of.get(url(customer))  # kept in the page cache with the old address
    old_email = customer.email
    access_link, _ = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.ACCESS_LINK, lifetime=timedelta(days=30)
    )
    password_link, _ = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=timedelta(hours=1)
    )
    code = SignInCode.objects.create(
        organisation=organisation,
        email=NEW,
        code_hmac="x",
        browser_hash="y",
        expires_at=timezone.now() + timedelta(minutes=9),
    )
    ask(client_of, customer)

    page = open_link(client_of, emailed_link())
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Use <strong>{NEW}</strong> instead of {old_email}" in html
    assert f"Bookings made for {old_email} will no longer show here" in html
    customer.refresh_from_db()
    assert customer.email == old_email  # the page alone (or a mail scanner) changes nothing

    response = press(client_of, page)

    assert response.status_code == 302 and response["Location"] == url(customer)
    customer.refresh_from_db()
    assert customer.email == NEW
    profile = client_of.get(url(customer)).content.decode()  # still signed in here, and fresh
    assert f"Your email address is now {NEW}." in profile
    assert f"<strong>{NEW}</strong>" in profile and old_email not in profile
    assert f"<strong>{NEW}</strong>" in client_of.get(url(customer)).content.decode()
    assert client_of.session[SESSION_CUSTOMER] == customer.pk
    gone = elsewhere.get(url(customer))
    assert gone.status_code == 302 and "/sign-in/" in gone["Location"]
    for token in (access_link, password_link):
        token.refresh_from_db()
        assert token.revoked_at is not None
    code.refresh_from_db()
    assert code.ended_at is not None
    assert not EmailChange.objects.exists()
    told = OutboxEmail.objects.get(to=old_email)
    assert told.template == "profiles/emails/email_changed"
    assert f"was changed from {old_email} to {NEW}" in told.body_text
    assert "help@voyages.example" in told.body_text  # whom to contact
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.EMAIL_CHANGED)
    assert event.customer == customer
    assert event.reason == f"from {old_email} to {NEW}; 2 emailed links revoked"


def test_the_customer_signs_in_with_the_new_address_afterwards(client_of, customer, organisation):
    old_email = customer.email
    ask(client_of, customer)
    press(client_of, open_link(client_of, emailed_link()))
    sign_in_page = f"/{organisation.slug}/sign-in/"

    old = Client().post(sign_in_page, {"email": old_email, "password": CUSTOMER_PASSWORD})
    assert old.status_code == 200
    new = Client().post(sign_in_page, {"email": NEW, "password": CUSTOMER_PASSWORD})
    assert new.status_code == 302


def test_a_link_works_once(client_of, customer):
    ask(client_of, customer)
    link = emailed_link()
    press(client_of, open_link(client_of, link))

    again = open_link(client_of, link)

    assert again.status_code == 404
    assert "This link no longer works" in again.content.decode()


def test_a_link_expires_after_an_hour(client_of, customer):
    ask(client_of, customer)
    link = emailed_link()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        page = open_link(client_of, link)
    assert page.status_code == 404
    customer.refresh_from_db()
    assert customer.email != NEW


def test_an_expired_link_shown_before_it_expired_changes_nothing(client_of, customer):
    ask(client_of, customer)
    page = open_link(client_of, emailed_link())
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert press(client_of, page).status_code == 404
    customer.refresh_from_db()
    assert customer.email != NEW


@pytest.mark.parametrize("what", ["asked again", "cancelled", "password changed"])
def test_a_link_dies_when_the_customer_asks_again_cancels_or_changes_their_password(client_of, customer, what):
    ask(client_of, customer)
    link = emailed_link()
    if what == "asked again":
        ask(client_of, customer, new_email="other.new@example.com")
    elif what == "cancelled":
        response = client_of.post(url(customer, "email/cancel/"))
        assert response.status_code == 302
        assert f"your email address stays {customer.email}" in client_of.get(url(customer)).content.decode()
    else:
        customer.set_password("a brand new passphrase for this test")
        customer.save()

    assert open_link(Client(), link).status_code == 404
    customer.refresh_from_db()
    assert customer.email != NEW


def test_the_profile_shows_a_pending_change_until_it_is_confirmed(client_of, customer):
    ask(client_of, customer)
    html = client_of.get(url(customer)).content.decode()
    assert f"Waiting for you to confirm <strong>{NEW}</strong>" in html
    assert "Cancel this change" in html


def test_the_pending_change_says_when_its_link_expires_in_the_organisations_time(customer, sign_in):
    customer.organisation.time_zone = "America/New_York"
    customer.organisation.save()
    with time_machine.travel("2026-07-01 12:30:00+00:00", tick=False):
        client = sign_in(customer)
        ask(client, customer)
        html = client.get(url(customer)).content.decode()

    assert "open the link we emailed there by 1 Jul 2026, 09:30 (America/New_York)" in html  # 13:30 UTC, summer time


def test_a_link_needs_the_browser_signed_in_to_the_account_that_asked(client_of, sign_in, customer, other_customer):
    ask(client_of, customer)
    link = emailed_link()

    stranger = open_link(Client(), link)
    assert stranger.status_code == 403
    assert "Sign in to confirm your new address" in stranger.content.decode()
    assert customer.email not in stranger.content.decode()  # the old address is not told to the new mailbox
    other = open_link(sign_in(other_customer), link)
    assert other.status_code == 403
    assert "This link is for a different account" in other.content.decode()
    customer.refresh_from_db()
    assert customer.email != NEW
    # The customer can still use it.
    assert press(client_of, open_link(client_of, link)).status_code == 302


def test_a_link_of_one_organisation_does_nothing_in_another(client_of, sign_in, customer, other_organisation):
    ask(client_of, customer)
    twin = CustomerFactory(organisation=other_organisation, email=customer.email, with_password=True)
    link = emailed_link().replace(f"/{customer.organisation.slug}/", f"/{other_organisation.slug}/")
    assert open_link(sign_in(twin), link).status_code == 404


def test_an_address_taken_before_the_link_is_opened_stays_the_other_customers(client_of, customer, organisation):
    ask(client_of, customer)
    link = emailed_link()
    CustomerFactory(organisation=organisation, email=NEW)

    response = press(client_of, open_link(client_of, link))

    assert response.status_code == 302
    html = client_of.get(url(customer)).content.decode()
    assert "That address now belongs to another account" in html
    assert "Waiting for you to confirm" not in html and not EmailChange.objects.exists()
    customer.refresh_from_db()
    assert customer.email != NEW
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGED).exists()


def test_the_unique_constraint_decides_a_race_for_the_address(client_of, customer, organisation):
    ask(client_of, customer)
    link = emailed_link()
    # Written as a concurrent request could have, past the look-up (which matches the stored, normalised form).
    rival = CustomerFactory(organisation=organisation, email="someone@example.com")
    Customer.objects.filter(pk=rival.pk).update(email=NEW.upper())

    response = press(client_of, open_link(client_of, link))

    assert response.status_code == 302
    assert "That address now belongs to another account" in client_of.get(url(customer)).content.decode()
    customer.refresh_from_db()
    assert customer.email != NEW
    assert not OutboxEmail.objects.filter(template="profiles/emails/email_changed").exists()


def test_a_post_naming_another_link_than_the_one_landed_changes_nothing(client_of, customer):
    ask(client_of, customer)
    link = emailed_link()
    open_link(client_of, link)
    response = client_of.post(url(customer, "email/confirm/"), {"link": "forged"})
    assert response.status_code == 302 and response["Location"] == url(customer, "email/confirm/")
    customer.refresh_from_db()
    assert customer.email != NEW


@pytest.mark.parametrize("path", ["email/", "email/sent/", "email/confirm/"])
def test_each_page_of_the_change_takes_few_queries(client_of, customer, path, django_assert_max_num_queries):
    ask(client_of, customer)
    open_link(client_of, emailed_link())
    with django_assert_max_num_queries(6):
        assert client_of.get(url(customer, path)).status_code == 200


def test_purge_expired_deletes_the_email_changes_no_link_can_confirm_any_more(customer, capsys):
    other = CustomerFactory(organisation=customer.organisation)
    for who, minutes, token in ((customer, -1, "expired"), (other, 30, "live")):
        EmailChange.objects.create(
            customer=who,
            organisation=who.organisation,
            new_email=f"{token}@example.com",
            token_hash=hash_token(token),
            session_version=who.session_version,
            expires_at=timezone.now() + timedelta(minutes=minutes),
        )

    call_command("purge_expired")

    assert list(EmailChange.objects.values_list("new_email", flat=True)) == ["live@example.com"]
    assert "Deleted 1 expired email-change requests." in capsys.readouterr().out


def test_after_the_change_this_browser_is_still_listed_and_can_sign_out_everywhere_else(client_of, sign_in, customer):
    other = sign_in(customer)
    ask(client_of, customer)
    press(client_of, open_link(client_of, emailed_link()))

    sessions = client_of.get(url(customer, "access/sessions/")).content.decode()
    assert "This browser</span>" in sessions and "No session is listed" not in sessions
    response = client_of.post(url(customer, "access/sessions/sign-out-everywhere/"))

    assert response["Location"] == url(customer, "access/sessions/")  # kept signed in, not sent to sign in
    assert client_of.get(f"/{customer.organisation.slug}/").status_code == 200
    assert other.get(f"/{customer.organisation.slug}/").status_code == 302


def test_a_copy_of_this_browsers_cookie_ends_when_the_email_changes(client_of, customer):
    copy = Client()
    copy.cookies["sessionid"] = client_of.cookies["sessionid"].value
    ask(client_of, customer)

    press(client_of, open_link(client_of, emailed_link()))

    assert client_of.get(f"/{customer.organisation.slug}/").status_code == 200
    assert copy.get(f"/{customer.organisation.slug}/").status_code == 302


def test_strangers_wrong_passwords_do_not_shut_the_owners_browser_out_of_the_email_change(customer):
    owner = Client(REMOTE_ADDR="198.51.100.7")
    owner.post(f"/{customer.organisation.slug}/sign-in/", {"email": customer.email, "password": CUSTOMER_PASSWORD})
    for number in range(5):
        stranger = Client(REMOTE_ADDR=f"203.0.113.{number}")
        stranger.post(f"/{customer.organisation.slug}/sign-in/", {"email": customer.email, "password": "wrong guess"})

    response = ask(owner, customer)

    assert response.status_code == 302
    assert EmailChange.objects.get(customer=customer).new_email == NEW


def test_the_browser_that_changed_the_email_is_known_for_the_new_address(client_of, customer):
    ask(client_of, customer)

    press(client_of, open_link(client_of, emailed_link()))

    request = RequestFactory().get("/", HTTP_COOKIE=f"{COOKIE}={client_of.cookies[COOKIE].value}")
    assert rate_limit_key(request, customer.organisation, NEW).startswith("browser:")
    assert not rate_limit_key(request, customer.organisation, customer.email).startswith("browser:")


def test_the_button_pressed_again_before_the_first_answer_says_the_new_address_and_keeps_this_browser_in(
    client_of, customer
):
    """The second press goes with the cookie the browser held before the first press's answer came back."""
    old_email = customer.email
    ask(client_of, customer)
    page = open_link(client_of, emailed_link())
    again = Client()
    again.cookies["sessionid"] = client_of.cookies["sessionid"].value

    first = press(client_of, page)
    second = again.post(page.wsgi_request.path, pressed(page))

    assert first["Location"] == second["Location"] == url(customer)
    profile = again.get(second["Location"]).content.decode()
    assert f"Your email address is now {NEW}. Use it to sign in from now on." in profile
    assert again.cookies["sessionid"].value == client_of.cookies["sessionid"].value
    customer.refresh_from_db()
    assert customer.email == NEW
    assert OutboxEmail.objects.filter(to=old_email, template="profiles/emails/email_changed").count() == 1
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGED).count() == 1


def test_a_copy_of_the_cookie_sending_the_button_after_the_change_stays_out(client_of, customer):
    copy = Client()
    copy.cookies["sessionid"] = client_of.cookies["sessionid"].value
    ask(client_of, customer)
    page = open_link(client_of, emailed_link())
    copys_own = pressed(open_link(copy, emailed_link()))

    press(client_of, page)
    response = copy.post(page.wsgi_request.path, copys_own)

    assert response.status_code == 404
    assert "This link no longer works" in response.content.decode()
    assert copy.get(f"/{customer.organisation.slug}/").status_code == 302


def test_a_dead_link_does_not_claim_the_address_is_unchanged(client_of, customer):
    """The link also dies once used: whoever opens it again may have moved the account with it."""
    ask(client_of, customer)
    link = emailed_link()
    press(client_of, open_link(client_of, link))

    html = open_link(client_of, link).content.decode()

    assert "has not changed" not in html
    assert "If you have confirmed the change already, your account now uses the new address" in html


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_the_button_pressed_twice_at_the_same_moment_moves_the_account_once_and_keeps_this_browser_in(sign_in):
    customer = CustomerFactory(with_password=True)
    client = sign_in(customer)
    ask(client, customer)
    sent = next(email for email in mail.outbox if email.to == [NEW])  # delivered at once: the outbox's copy is scrubbed
    page = open_link(client, link_in(sent.body, "/profile/email/link/").removeprefix(settings.SITE_URL))
    clients = [Client(), Client()]
    for browser in clients:
        browser.cookies["sessionid"] = client.cookies["sessionid"].value
    sending = list(clients)

    answers, errors = calls_at_once(2, lambda: sending.pop().post(page.wsgi_request.path, pressed(page)))

    assert errors == []
    assert [answer["Location"] for answer in answers] == [url(customer)] * 2
    assert all(browser.get(f"/{customer.organisation.slug}/").status_code == 200 for browser in clients)
    assert Customer.objects.get(pk=customer.pk).email == NEW
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGED).count() == 1
