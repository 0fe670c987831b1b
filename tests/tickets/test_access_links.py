"""The emailed access link: issued hashed, opened into a session, refused when it should be, never logged."""

import hashlib
import logging
from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from portal_auth.access_links import access_links_revoke
from portal_auth.models import AccessEvent, CustomerToken
from portal_auth.sessions import SESSION_CUSTOMER, SESSION_METHOD
from tests.conftest import link_in
from tests.tickets.conftest import events
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


def test_opening_the_link_signs_in_and_redirects_to_the_ticket_without_the_token(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    token, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)

    response = client.get(path_of(link), HTTP_USER_AGENT="Mail reader 1.0", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 302
    assert response["Location"] == f"/{ticket.organisation.slug}/support/{ticket.number}/"
    assert raw not in response["Location"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.session[SESSION_CUSTOMER] == ticket.requester.pk
    assert client.session[SESSION_METHOD] == "access_link"
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


def test_a_link_opens_again_and_again_within_its_30_days(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        for _ in range(3):
            client = Client()
            assert client.get(path_of(link))["Location"].endswith(f"/support/{ticket.number}/")
    assert len(events(AccessEvent.Kind.ACCESS_LINK_USED)) == 3


def assert_refused(client, link, organisation, reason):
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/support/portal/new-link/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert SESSION_CUSTOMER not in client.session
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
    assert (revoked.customer, revoked.staff_user) == (ticket.requester, staff_user)


def test_a_link_used_before_revocation_is_refused_after_it_and_its_session_ends(
    ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client = Client()
    client.get(path_of(link))
    ticket_page = f"/{ticket.organisation.slug}/support/{ticket.number}/"
    assert client.get(ticket_page).status_code == 200

    access_links_revoke(customer=ticket.requester, staff_user=staff_user)

    assert client.get(ticket_page).status_code == 302  # back to sign in
    assert_refused(Client(), link, ticket.organisation, "revoked link")


def test_links_sent_after_a_revocation_work(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    access_links_revoke(customer=ticket.requester, staff_user=staff_user)
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert Client().get(path_of(link))["Location"].endswith(f"/support/{ticket.number}/")


def test_another_organisations_link_gets_no_access(
    client, ticket, other_organisation, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    foreign = f"https://portal.example.test/{other_organisation.slug}/support/portal/{raw}"
    refused = assert_refused(client, foreign, other_organisation, "unknown link")
    assert (refused.organisation, refused.customer, refused.token) == (other_organisation, None, None)


def test_an_unknown_or_mangled_link_gets_no_access(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    assert_refused(client, link[:-1], ticket.organisation, "unknown link")
    assert_refused(client, link + "x" * 300, ticket.organisation, "unknown link")


def test_a_deactivated_customers_link_gets_no_access(
    client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    ticket.requester.is_active = False
    ticket.requester.save()
    assert_refused(client, link, ticket.organisation, "customer deactivated")


def test_a_link_to_an_unknown_organisation_goes_to_the_front_page(db, client):
    response = client.get("/no-such-organisation/support/portal/" + "a" * 64)
    assert (response.status_code, response["Location"]) == (302, "/")


def test_guessing_tokens_is_rate_limited_per_ip(
    settings, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_guess": "3/5m/ip"}
    _, link, _ = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for attempt in range(3):
        guesser.get(f"/{ticket.organisation.slug}/support/portal/guess{attempt}{'x' * 60}")

    # Even a real link is refused from that address now, and the page says why.
    response = guesser.get(path_of(link))
    assert response["Location"].endswith("/support/portal/new-link/")
    assert SESSION_CUSTOMER not in guesser.session
    limited = guesser.get(response["Location"])
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    # Another address is not affected.
    assert Client(REMOTE_ADDR="198.51.100.8").get(path_of(link))["Location"].endswith(f"/{ticket.number}/")


def test_the_token_never_reaches_the_logs(
    caplog, client, ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    _, link, raw = send_link(ticket, staff_user, mailoutbox, django_capture_on_commit_callbacks)
    client.get(path_of(link))
    access_links_revoke(customer=ticket.requester, staff_user=staff_user)
    client.get(path_of(link))
    client.get(path_of(link) + "x")
    assert raw not in caplog.text
