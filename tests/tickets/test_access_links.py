"""The emailed access link: issued hashed; a GET names the account, a POST opens the session; refused when it
should be; the token never logged and never left in the session."""

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal_auth.doors.access_link.services import access_links_revoke
from portal_auth.doors.access_link.views import TOKEN_SESSION_KEY
from portal_auth.models import AccessEvent, CustomerToken, hash_token
from portal_auth.sessions import SESSION_CUSTOMER, SESSION_METHOD
from portal_core.origin import ClientOrigin
from tests.conftest import as_shown, link_in
from tests.factories import CustomerFactory
from tests.tickets.conftest import events, open_access_link
from tickets.services import ticket_portal_link_send


def send_link(ticket, staff_user, mailoutbox, capture):
    with capture(execute=True):
        token = ticket_portal_link_send(ticket=ticket, staff_user=staff_user)
    link = link_in(mailoutbox[-1].body, "/support/portal/")
    return token, link, link.rsplit("/", 1)[1]


def path_of(link):
    return link.removeprefix("https://portal.example.test")


def test_link_is_64_plus_random_characters_stored_only_as_a_hash(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    token, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)

    assert link == f"https://portal.example.test/{ticket.organisation.slug}/support/portal/{raw}"
    assert len(raw) >= 64
    token.refresh_from_db()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.purpose == CustomerToken.Purpose.ACCESS_LINK
    assert token.next_path == f"/{ticket.organisation.slug}/support/{ticket.number}/"
    assert token.created_by == staff_user
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    stored = [str(value) for row in CustomerToken.objects.values() for value in row.values()]
    stored += [str(value) for row in AccessEvent.objects.values() for value in row.values()]
    assert not any(raw in value for value in stored)
    assert mailoutbox[-1].to == [ticket.requester.email]
    assert f"#{ticket.number}" in mailoutbox[-1].subject
    sent = events(AccessEvent.Kind.ACCESS_LINK_SENT)
    assert [(e.customer, e.token, e.staff_user) for e in sent] == [(ticket.requester, token, staff_user)]


def test_every_link_is_different(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    _, _, first = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    _, _, second = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert first != second
    assert CustomerToken.objects.filter(customer=ticket.requester).count() == 2


def confirm_url(organisation):
    return f"/{organisation.slug}/support/portal/open/"


def test_the_link_only_moves_its_token_into_the_session_and_redirects(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path_of(link))

    assert response.status_code == 302
    assert response["Location"] == confirm_url(ticket.organisation)
    assert raw not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert client.session[TOKEN_SESSION_KEY] == hash_token(raw)  # the secret itself is never kept
    assert SESSION_CUSTOMER not in client.session
    # Not even looked up: what the token is worth is decided on the page, and used only by its button.
    assert not [q for q in queries.captured_queries if CustomerToken._meta.db_table in q["sql"]]
    assert not AccessEvent.objects.exclude(kind=AccessEvent.Kind.ACCESS_LINK_SENT).exists()


def test_the_page_says_whose_tickets_the_link_opens_and_opens_nothing(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client.get(path_of(link))

    with django_assert_max_num_queries(6):
        response = client.get(confirm_url(ticket.organisation))

    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert (
        f"This link opens the support tickets of <strong>{ticket.requester.email}</strong> "
        f"at {ticket.organisation.public_name}." in page
    )
    assert re.search(r'<form method="post">\s*<input type="hidden" name="csrfmiddlewaretoken"', page)
    assert '<button type="submit" class="button">Open support tickets</button>' in page
    assert SESSION_CUSTOMER not in client.session
    assert events(AccessEvent.Kind.ACCESS_LINK_USED) == []
    assert events(AccessEvent.Kind.SIGN_IN) == []


def test_a_mail_scanner_following_the_link_opens_no_session(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    scanner = Client(HTTP_USER_AGENT="Link scanner")
    response = scanner.get(path_of(link), follow=True)
    assert response.status_code == 200
    assert SESSION_CUSTOMER not in scanner.session
    assert scanner.get(f"/{ticket.organisation.slug}/support/{ticket.number}/").status_code == 302  # to sign in
    assert events(AccessEvent.Kind.SIGN_IN) == []
    # The link still works for its customer afterwards.
    assert open_access_link(Client(), link)["Location"].endswith(f"/support/{ticket.number}/")


def test_pressing_the_button_signs_in_and_opens_the_ticket(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    token, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client.get(path_of(link))
    client.get(confirm_url(ticket.organisation))

    response = client.post(
        confirm_url(ticket.organisation),
        as_shown(client, confirm_url(ticket.organisation)),
        HTTP_USER_AGENT="Mail reader 1.0",
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 302
    assert response["Location"] == f"/{ticket.organisation.slug}/support/{ticket.number}/"
    assert client.session[SESSION_CUSTOMER] == ticket.requester.pk
    assert client.session[SESSION_METHOD] == "access_link"
    assert TOKEN_SESSION_KEY not in client.session
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert ticket.subject in page.content.decode()
    [used] = events(AccessEvent.Kind.ACCESS_LINK_USED)
    assert (used.customer, used.token, used.ip, used.user_agent) == (
        ticket.requester,
        token,
        "203.0.113.9",
        "Mail reader 1.0",
    )
    [signed_in] = events(AccessEvent.Kind.SIGN_IN)
    assert (signed_in.method, signed_in.token) == ("access_link", token)


def test_a_page_elsewhere_cannot_press_the_button_for_the_visitor(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    """Login CSRF: a site that sends a visitor to its own link, then posts the form for them, gets a 403."""
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    victim = Client(enforce_csrf_checks=True)
    victim.get(path_of(link))

    forged = victim.post(confirm_url(ticket.organisation), HTTP_ORIGIN="https://attacker.example")

    assert forged.status_code == 403
    assert SESSION_CUSTOMER not in victim.session
    assert events(AccessEvent.Kind.SIGN_IN) == []
    # Through the page itself, with its CSRF token, the button works.
    page = victim.get(confirm_url(ticket.organisation)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    opened = victim.post(
        confirm_url(ticket.organisation),
        {"csrfmiddlewaretoken": csrf, **as_shown(victim, confirm_url(ticket.organisation))},
    )
    assert opened["Location"].endswith(f"/support/{ticket.number}/")
    assert victim.session[SESSION_CUSTOMER] == ticket.requester.pk


def test_someone_signed_in_is_told_the_link_signs_them_out_of_their_account(
    sign_in, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    bob = CustomerFactory(organisation=ticket.organisation, email="bob@example.com")
    client = sign_in(bob)
    client.get(path_of(link))
    page = client.get(confirm_url(ticket.organisation)).content.decode()
    assert "You're signed in as <strong>bob@example.com</strong>. Continuing signs you out of that account." in page
    assert ticket.requester.email in page
    # Opening the link without pressing the button leaves Bob signed in as Bob.
    assert client.session[SESSION_CUSTOMER] == bob.pk

    client.post(confirm_url(ticket.organisation), as_shown(client, confirm_url(ticket.organisation)))
    assert client.session[SESSION_CUSTOMER] == ticket.requester.pk


def test_a_link_opens_again_and_again_within_its_30_days(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        for _ in range(3):
            assert open_access_link(Client(), link)["Location"].endswith(f"/support/{ticket.number}/")
    assert len(events(AccessEvent.Kind.ACCESS_LINK_USED)) == 3


def assert_refused(client, link, organisation, reason):
    """The link leads to the page; the page, seeing a dead token, drops it and sends to the new-link form."""
    assert client.get(path_of(link))["Location"] == confirm_url(organisation)
    response = client.get(confirm_url(organisation))
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/support/portal/new-link/"
    assert SESSION_CUSTOMER not in client.session
    assert TOKEN_SESSION_KEY not in client.session
    refused = events(AccessEvent.Kind.ACCESS_LINK_REFUSED)[-1]
    assert refused.reason == reason
    page = client.get(response["Location"])
    assert "This link no longer works" in page.content.decode()
    return refused


def test_an_expired_link_gets_no_access(client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    token, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        refused = assert_refused(client, link, ticket.organisation, "expired link")
        assert client.get(f"/{ticket.organisation.slug}/support/{ticket.number}/").status_code == 302
    assert (refused.customer, refused.token) == (ticket.requester, token)
    assert events(AccessEvent.Kind.ACCESS_LINK_USED) == []


def test_a_revoked_link_gets_no_access(client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert access_links_revoke(customer=ticket.requester, staff_user=staff_user) == 1
    assert_refused(client, link, ticket.organisation, "revoked link")
    [revoked] = events(AccessEvent.Kind.ACCESS_LINKS_REVOKED)
    assert (revoked.customer, revoked.staff_user, revoked.reason) == (ticket.requester, staff_user, "1 link")


def test_a_link_revoked_while_its_page_is_open_is_refused_at_the_button(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client.get(path_of(link))
    assert client.get(confirm_url(ticket.organisation)).status_code == 200
    access_links_revoke(customer=ticket.requester, staff_user=staff_user)

    response = client.post(confirm_url(ticket.organisation), as_shown(client, confirm_url(ticket.organisation)))

    assert response["Location"] == f"/{ticket.organisation.slug}/support/portal/new-link/"
    assert SESSION_CUSTOMER not in client.session
    assert TOKEN_SESSION_KEY not in client.session
    assert [e.reason for e in events(AccessEvent.Kind.ACCESS_LINK_REFUSED)] == ["revoked link"]
    assert events(AccessEvent.Kind.SIGN_IN) == []


def test_a_link_used_before_revocation_is_refused_after_it_and_its_session_ends(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client = Client()
    open_access_link(client, link)
    ticket_page = f"/{ticket.organisation.slug}/support/{ticket.number}/"
    assert client.get(ticket_page).status_code == 200

    access_links_revoke(customer=ticket.requester, staff_user=staff_user)

    assert client.get(ticket_page).status_code == 302  # back to sign in
    assert_refused(Client(), link, ticket.organisation, "revoked link")


def test_revoking_links_revokes_unused_password_links_too(
    client, ticket, make_ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    from portal_auth.services import password_link_send

    send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        password_link_send(origin=ClientOrigin(ip=None), organisation=ticket.organisation, email=ticket.requester.email)
    password_link = link_in(mailoutbox[-1].body, "/password/link/")
    used_before = CustomerToken.objects.create(
        organisation=ticket.organisation,
        customer=ticket.requester,
        purpose=CustomerToken.Purpose.SET_PASSWORD,
        token_hash=hash_token("a password link used earlier"),
        expires_at=timezone.now() + timedelta(hours=1),
        used_at=timezone.now() - timedelta(minutes=5),
    )
    someone_else = make_ticket(requester=CustomerFactory(organisation=ticket.organisation)).requester
    with django_capture_on_commit_callbacks(execute=True):
        password_link_send(origin=ClientOrigin(ip=None), organisation=ticket.organisation, email=someone_else.email)

    assert access_links_revoke(customer=ticket.requester, staff_user=staff_user) == 2

    unused = CustomerToken.objects.filter(customer=ticket.requester, used_at__isnull=True)
    assert sorted((t.purpose, t.revoked_at is not None) for t in unused) == [
        (CustomerToken.Purpose.ACCESS_LINK, True),
        (CustomerToken.Purpose.SET_PASSWORD, True),
    ]
    used_before.refresh_from_db()
    assert used_before.revoked_at is None  # a used link keeps its history as it was
    assert CustomerToken.objects.get(customer=someone_else).revoked_at is None
    [revoked] = events(AccessEvent.Kind.ACCESS_LINKS_REVOKED)
    assert revoked.reason == "1 link and 1 password link"
    # The revoked password link no longer offers to choose a password.
    client.get(password_link.removeprefix("https://portal.example.test"))
    response = client.get(f"/{ticket.organisation.slug}/password/set/")
    assert response.status_code == 404
    assert "Choose your password" not in response.content.decode()


def test_links_sent_after_a_revocation_work(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    access_links_revoke(customer=ticket.requester, staff_user=staff_user)
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert open_access_link(Client(), link)["Location"].endswith(f"/support/{ticket.number}/")


def test_another_organisations_link_gets_no_access(
    client, ticket, other_organisation, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    foreign = f"https://portal.example.test/{other_organisation.slug}/support/portal/{raw}"
    refused = assert_refused(client, foreign, other_organisation, "unknown link")
    assert (refused.organisation, refused.customer, refused.token) == (other_organisation, None, None)


@pytest.mark.parametrize("mangle", [lambda link: link[:-1], lambda link: link + "x" * 300])
def test_an_unknown_or_mangled_link_gets_no_access(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks, mangle
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert_refused(client, mangle(link), ticket.organisation, "unknown link")


def test_a_deactivated_customers_link_gets_no_access(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    ticket.requester.is_active = False
    ticket.requester.save()
    assert_refused(client, link, ticket.organisation, "customer deactivated")


def test_guessing_tokens_is_rate_limited_per_ip(
    settings, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_guess": "3/5m/ip"}
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for attempt in range(3):
        guesser.get(f"/{ticket.organisation.slug}/support/portal/guess{attempt}{'x' * 60}", follow=True)
    assert len(events(AccessEvent.Kind.ACCESS_LINK_REFUSED)) == 3

    # Even a real link is refused from that address now: the page neither names its account nor opens it.
    guesser.get(path_of(link))
    response = guesser.get(confirm_url(ticket.organisation))
    assert response["Location"].endswith("/support/portal/new-link/")
    assert TOKEN_SESSION_KEY not in guesser.session
    guesser.get(path_of(link))
    assert guesser.post(confirm_url(ticket.organisation), as_shown(guesser, confirm_url(ticket.organisation)))[
        "Location"
    ].endswith("/support/portal/new-link/")
    assert SESSION_CUSTOMER not in guesser.session
    limited = guesser.get(response["Location"])
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    assert ticket.requester.email not in limited.content.decode()
    # Another address is not affected.
    opened = open_access_link(Client(REMOTE_ADDR="198.51.100.8"), link, REMOTE_ADDR="198.51.100.8")
    assert opened["Location"].endswith(f"/{ticket.number}/")


def test_the_token_never_reaches_the_logs(
    caplog, client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    _, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    open_access_link(client, link)
    access_links_revoke(customer=ticket.requester, staff_user=staff_user)
    open_access_link(client, link)
    open_access_link(client, link + "x")
    assert raw not in caplog.text
