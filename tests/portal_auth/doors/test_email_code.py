"""The emailed one-time code: asked for by email, typed in the same browser, once, within ten minutes."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from outbox.models import OutboxEmail
from portal_auth.doors.email_code.services import (
    CODE_DIGITS,
    MAX_LIVE_CODES,
    browser_hash,
    browser_summary,
    code_hmac,
    sign_in_code_send,
)
from portal_auth.known_browsers import COOKIE
from portal_auth.models import AccessEvent, Customer, Organisation, SignInCode
from portal_auth.sessions import SESSION_CUSTOMER, SESSION_METHOD
from portal_core.origin import ClientOrigin
from tests.factories import CustomerFactory, OrganisationFactory
from tests.refusals import unmasked

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
def organisation(db):
    return OrganisationFactory(doors=["password", "email_code", "access_link"])


@pytest.fixture
def browser():
    return Client(HTTP_USER_AGENT=FIREFOX)


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """Ask for a code for `email` in `client`; the task and the email's delivery run after the response."""

    def _ask(client, organisation, email):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/{organisation.slug}/code/", {"email": email})
        assert response.status_code == 302
        assert response["Location"] == f"/{organisation.slug}/code/enter/"
        return response

    return _ask


@pytest.fixture
def resend(django_capture_on_commit_callbacks):
    """Press "Send a new code" in `client`."""

    def _resend(client, organisation):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/{organisation.slug}/code/enter/", {"resend": "1"})

    return _resend


def code_in(mailoutbox, index=-1) -> str:
    return re.search(r"^[ \t]+(\d{8})\s*$", mailoutbox[index].body, re.MULTILINE).group(1)


def enter(client, organisation, code, **extra):
    return client.post(f"/{organisation.slug}/code/enter/", {"code": code, **extra})


def later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def refusals() -> list[str]:
    return list(
        AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN_CODE_REFUSED)
        .order_by("pk")
        .values_list("reason", flat=True)
    )


def assert_not_signed_in(client):
    assert SESSION_CUSTOMER not in client.session


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def test_the_sign_in_page_offers_a_code_only_where_the_door_is_open(client, organisation, other_organisation):
    offered = client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert "Email me a sign-in code" in offered
    assert "Email me a sign-in code" not in client.get(f"/{other_organisation.slug}/sign-in/").content.decode()
    assert client.get(f"/{other_organisation.slug}/code/").status_code == 404
    assert client.post(f"/{other_organisation.slug}/code/enter/", {"code": "12345678"}).status_code == 404


def test_a_code_signs_in_once_and_creates_the_customer_on_first_sign_in(
    organisation, attendee_email, browser, ask, mailoutbox
):
    ask(browser, organisation, attendee_email.upper())
    [email] = mailoutbox
    code = code_in(mailoutbox)
    assert email.to == [attendee_email]
    assert email.subject == f"Your sign-in code for {organisation.public_name}" and code not in email.subject
    html = email.alternatives[0][0]
    assert f"{code}</p>" in html and "font-size:36px" in html and "user-select:all" in html
    assert "works once, for 10 minutes" in email.body
    assert "from Firefox on Windows" in email.body
    assert "If this wasn't you, ignore this email" in email.body
    assert not Customer.objects.filter(email=attendee_email).exists()

    page = browser.get(f"/{organisation.slug}/code/enter/").content.decode()
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    # Pasted with a space in the middle, as some mail apps copy it.
    response = enter(browser, organisation, f" {code[:3]} {code[3:]} ")

    assert response.status_code == 302 and response["Location"] == f"/{organisation.slug}/"
    customer = Customer.objects.get(organisation=organisation, email=attendee_email)
    assert browser.session[SESSION_CUSTOMER] == customer.pk
    assert browser.session[SESSION_METHOD] == "email_code"
    kinds = list(AccessEvent.objects.order_by("pk").values_list("kind", "method", "email"))
    assert kinds == [("sign_in_code_sent", "email_code", attendee_email), ("sign_in", "email_code", attendee_email)]
    assert SignInCode.objects.get().ended_at is not None


def test_the_code_is_stored_only_as_a_keyed_hmac_and_never_logged(organisation, customer, browser, ask, mailoutbox):
    ask(browser, organisation, customer.email)
    code = code_in(mailoutbox)
    enter(browser, organisation, wrong(code))
    enter(browser, organisation, code)

    row = SignInCode.objects.get()
    assert row.code_hmac == code_hmac(organisation_id=organisation.pk, email=customer.email, code=code)
    assert row.code_hmac != hashlib.sha256(code.encode()).hexdigest()
    assert code not in str(list(SignInCode.objects.values()))
    assert code not in str(list(AccessEvent.objects.values()))
    stored = OutboxEmail.objects.get()
    assert stored.status == OutboxEmail.Status.SENT
    assert code not in stored.body_text and code not in stored.body_html
    # A retry after the code stopped working would send a dead code: the outbox knows when that is.
    assert stored.useless_after == row.expires_at


def test_an_unknown_email_gets_the_same_answer_and_the_same_refusals(organisation, customer, ask, mailoutbox):
    known, unknown = Client(), Client()
    ask(known, organisation, customer.email)
    ask(unknown, organisation, "nobody@example.com")

    assert len(mailoutbox) == 1
    pages = [client.get(f"/{organisation.slug}/code/enter/") for client in (known, unknown)]
    typed = wrong(code_in(mailoutbox))
    answers = [enter(client, organisation, typed) for client in (known, unknown)]

    for first, second in (pages, answers):
        assert first.status_code == second.status_code
        assert unmasked(first.content.decode()) == unmasked(second.content.decode()).replace(
            "nobody@example.com", customer.email
        )
    assert answers[0].status_code == 400
    assert "That code is wrong. You have 2 tries left." in answers[1].content.decode()
    assert refusals() == ["wrong", "wrong"]
    assert list(AccessEvent.objects.filter(kind="sign_in_code_sent").values_list("email", flat=True)) == [
        customer.email
    ]


def test_asking_answers_before_any_look_up_and_sends_from_the_worker(
    organisation, customer, database_tasks, run_worker, mailoutbox, django_assert_max_num_queries
):
    clients = [Client(), Client()]
    for client, email in zip(clients, [customer.email, "nobody@example.com"], strict=True):
        response = client.post(f"/{organisation.slug}/code/", {"email": email})
        assert response.status_code == 302

    # Nothing looked up, written or sent while the customers waited: the worker does it.
    assert not SignInCode.objects.exists() and not OutboxEmail.objects.exists()
    assert run_worker() >= 2
    assert SignInCode.objects.count() == 2
    assert [email.to for email in OutboxEmail.objects.all()] == [customer.email]


def test_a_code_typed_in_another_browser_fails(organisation, customer, ask, mailoutbox):
    asked_here, elsewhere = Client(), Client()
    ask(elsewhere, organisation, customer.email)  # an earlier request puts the email in this one's session
    ask(asked_here, organisation, customer.email)
    code = code_in(mailoutbox)

    refused = enter(elsewhere, organisation, code)

    assert refused.status_code == 400
    assert "That code was asked for in another browser." in refused.content.decode()
    assert_not_signed_in(elsewhere)
    assert refusals() == ["other browser"]
    assert enter(asked_here, organisation, code)["Location"] == f"/{organisation.slug}/"


def test_a_strangers_request_for_the_same_address_leaves_the_owners_code_working(
    organisation, customer, browser, ask, mailoutbox
):
    ask(browser, organisation, customer.email)
    code = code_in(mailoutbox)
    stranger = ask(Client(), organisation, customer.email)  # from anywhere: the code goes to the owner's mailbox

    signed_in = enter(browser, organisation, code)

    assert stranger["Location"] == f"/{organisation.slug}/code/enter/"  # the answer every address gets
    assert signed_in["Location"] == f"/{organisation.slug}/"
    assert browser.session[SESSION_CUSTOMER] == customer.pk
    assert refusals() == []


def test_strangers_requests_from_many_browsers_keep_at_most_ten_codes_live_for_an_address(
    organisation, customer, browser, ask, mailoutbox
):
    ask(browser, organisation, customer.email)
    code = code_in(mailoutbox)
    for stranger in range(MAX_LIVE_CODES):
        sign_in_code_send(
            origin=ClientOrigin(ip="203.0.113.9"),
            organisation=organisation,
            email=customer.email,
            browser=browser_hash(f"stranger {stranger}"),
        )

    assert SignInCode.objects.filter(email=customer.email, ended_at__isnull=True).count() == MAX_LIVE_CODES
    assert "That code no longer works." in enter(browser, organisation, code).content.decode()  # the oldest ended


def test_three_wrong_codes_kill_it_and_a_fourth_entry_is_refused_even_if_right(
    organisation, customer, browser, ask, mailoutbox
):
    ask(browser, organisation, customer.email)
    code = code_in(mailoutbox)

    said = [enter(browser, organisation, wrong(code)).content.decode() for _ in range(3)]
    fourth = enter(browser, organisation, code)

    assert "That code is wrong. You have 2 tries left." in said[0]
    assert "That code is wrong. You have 1 try left." in said[1]
    assert "That code is wrong, and it no longer works. We can send you a new one." in said[2]
    assert fourth.status_code == 400
    assert "That code no longer works. We can send you a new one." in fourth.content.decode()
    assert_not_signed_in(browser)
    assert refusals() == ["wrong", "wrong", "wrong", "used up"]


def test_an_expired_code_is_refused(organisation, customer, browser, ask, mailoutbox):
    ask(browser, organisation, customer.email)
    code = code_in(mailoutbox)

    with later(10 * 60 + 1):
        refused = enter(browser, organisation, code)

    assert refused.status_code == 400
    assert "That code has expired. We can send you a new one." in refused.content.decode()
    assert_not_signed_in(browser)
    assert refusals() == ["expired"]


def test_a_used_code_does_not_sign_in_again(organisation, customer, ask, mailoutbox):
    first = Client()
    ask(first, organisation, customer.email)
    code = code_in(mailoutbox)
    session_before = dict(first.session.items())
    assert enter(first, organisation, code).status_code == 302

    # The same browser's session as it was before signing in (a copied cookie, say), typing the same code.
    replay = Client()
    replay_session = replay.session
    replay_session.update(session_before)
    replay_session.save()
    replay.cookies[settings.SESSION_COOKIE_NAME] = replay_session.session_key
    refused = enter(replay, organisation, code)

    assert "That code no longer works" in refused.content.decode()
    assert_not_signed_in(replay)


def test_only_the_newest_code_works_and_a_new_one_waits_30_seconds(
    organisation, customer, browser, ask, resend, mailoutbox
):
    ask(browser, organisation, customer.email)
    first = code_in(mailoutbox)

    too_soon = resend(browser, organisation)
    assert too_soon.status_code == 400 and "then ask again" in too_soon.content.decode()
    assert len(mailoutbox) == 1
    with later(31):
        resent = resend(browser, organisation)
        assert resent["Location"] == f"/{organisation.slug}/code/enter/"
        assert "A new code is on its way." in browser.get(resent["Location"]).content.decode()
        second = code_in(mailoutbox)
        if first != second:
            assert "That code is wrong." in enter(browser, organisation, first).content.decode()
        assert enter(browser, organisation, second)["Location"] == f"/{organisation.slug}/"
    assert len(mailoutbox) == 2


def test_a_new_code_does_not_reset_the_count_of_wrong_codes(organisation, customer, browser, ask, resend, mailoutbox):
    """Three wrong codes kill each one; ten an hour across codes close the door for the email until the hour ends."""
    # Counted in clock hours: started just after one begins, the twelve minutes below stay inside it.
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC), tick=False):
        _ten_wrong_codes_across_four(organisation, customer, browser, resend, ask, mailoutbox)


def _ten_wrong_codes_across_four(organisation, customer, browser, resend, ask, mailoutbox):
    ask(browser, organisation, customer.email)
    for _ in range(3):
        enter(browser, organisation, wrong(code_in(mailoutbox)))
    for step in (1, 2):
        with later(31 * step):
            resend(browser, organisation)
            for _ in range(3):
                enter(browser, organisation, wrong(code_in(mailoutbox)))
    with later(11 * 60):  # past the limit of 3 codes in 10 minutes, within the hour
        resend(browser, organisation)
        assert len(mailoutbox) == 4
        tenth = enter(browser, organisation, wrong(code_in(mailoutbox)))
        refused = enter(browser, organisation, code_in(mailoutbox))

    assert "You have 2 tries left." in tenth.content.decode()
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert re.search(r"Too many wrong codes\. Try again in \d+ minutes?\.", refused.content.decode())
    assert_not_signed_in(browser)
    assert refusals()[-1] == "too many" and refusals().count("wrong") == 10


def test_at_most_three_codes_per_ten_minutes_per_email(organisation, customer, ask, mailoutbox):
    for _ in range(3):
        ask(Client(), organisation, customer.email)

    refused = Client().post(f"/{organisation.slug}/code/", {"email": customer.email})

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert len(mailoutbox) == 3
    assert refusals() == ["too many codes asked for"]


def test_no_code_for_a_deactivated_customer(organisation, browser, ask, mailoutbox):
    customer = CustomerFactory(organisation=organisation, is_active=False)
    ask(browser, organisation, customer.email)
    assert mailoutbox == []
    assert enter(browser, organisation, "12345678").status_code == 400
    assert_not_signed_in(browser)


def test_a_malformed_code_is_explained_and_counts_nothing(organisation, customer, browser, ask, mailoutbox):
    ask(browser, organisation, customer.email)
    for typed in ("123456", "abcdefgh", "1234567", "123456789", ""):
        response = enter(browser, organisation, typed)
        assert response.status_code == 400
        assert "Enter the 8-digit code from the email." in response.content.decode()
    assert refusals() == [] and SignInCode.objects.get().failures == 0


def test_the_code_page_without_a_request_goes_to_the_request_page(client, organisation):
    response = client.get(f"/{organisation.slug}/code/enter/")
    assert response["Location"] == f"/{organisation.slug}/code/"


def test_it_returns_to_the_page_that_asked_for_sign_in(
    organisation, customer, browser, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/{organisation.slug}/code/", {"email": customer.email, "next": f"/{organisation.slug}/support/"})
    assert enter(browser, organisation, code_in(mailoutbox))["Location"] == f"/{organisation.slug}/support/"


@pytest.mark.parametrize(
    ("agent", "said"),
    [
        (FIREFOX, "Firefox on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile Safari/604.1",
            "Safari on iPhone",
        ),
        ("curl/8.0", ""),
    ],
)
def test_the_email_names_the_browser_as_a_person_would(agent, said):
    assert browser_summary(agent) == said


def test_create_organisation_can_open_the_code_door(db):
    call_command("create_organisation", "Codes Ltd", "--code-sign-in", stdout=open("/dev/null", "w"))
    call_command("create_organisation", "Plain Ltd", stdout=open("/dev/null", "w"))
    assert Organisation.objects.get(slug="codes-ltd").doors == ["password", "email_code", "access_link"]
    assert Organisation.objects.get(slug="plain-ltd").doors == ["password", "access_link"]


def _signed_in_by_code_then_out(client, organisation, customer, ask, mailoutbox):
    ask(client, organisation, customer.email)
    assert enter(client, organisation, code_in(mailoutbox)).status_code == 302
    assert COOKIE in client.cookies  # a sign-in by code makes the browser known, as any door's does
    client.post(f"/{organisation.slug}/sign-out/")


def test_strangers_asking_for_codes_for_an_address_do_not_stop_its_owners_browser(
    organisation, customer, browser, ask, mailoutbox
):
    _signed_in_by_code_then_out(browser, organisation, customer, ask, mailoutbox)
    with later(11 * 60):  # a new window of codes asked for
        for _ in range(3):
            ask(Client(), organisation, customer.email)
        stranger = Client().post(f"/{organisation.slug}/code/", {"email": customer.email})
        owner = ask(browser, organisation, customer.email)

        assert stranger.status_code == 429
        assert owner.status_code == 302
        assert enter(browser, organisation, code_in(mailoutbox)).status_code == 302


def test_strangers_wrong_codes_for_an_address_do_not_shut_out_its_owners_browser(
    organisation, customer, browser, ask, resend, mailoutbox
):
    # Early in an hour, so the stranger's ten wrong codes all fall in one hour's count.
    with time_machine.travel(datetime(2027, 1, 4, 9, 1, tzinfo=UTC), tick=False):
        _signed_in_by_code_then_out(browser, organisation, customer, ask, mailoutbox)
        stranger = Client(HTTP_USER_AGENT=FIREFOX)
        mailoutbox.clear()
        with later(11 * 60):
            _ten_wrong_codes_across_four(organisation, customer, stranger, resend, ask, mailoutbox)
        with later(23 * 60):
            ask(browser, organisation, customer.email)
            assert enter(browser, organisation, code_in(mailoutbox)).status_code == 302
