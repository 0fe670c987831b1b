"""portal_auth/sessions.py: each portal session's row, the browser it names, and its "last seen"."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal_auth.account import session_end
from portal_auth.models import CustomerSession
from portal_auth.sessions import SEEN_EVERY, SESSION_ROW, SESSION_SEEN, portal_sign_in
from portal_core.origin import ClientOrigin
from tests.conftest import _SessionRequest
from tests.factories import CUSTOMER_PASSWORD
from tests.tickets.factories import TicketFactory

CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
)


def row_of(client) -> CustomerSession:
    return CustomerSession.objects.get(pk=client.session[SESSION_ROW])


def customer_session_writes(queries) -> list[str]:
    return [query["sql"] for query in queries if 'UPDATE "portal_auth_customersession"' in query["sql"]]


def test_signing_in_records_the_session_and_the_session_names_its_row(client, customer):
    organisation = customer.organisation
    with time_machine.travel("2026-12-01 09:00:00+00:00", tick=False):
        client.post(
            f"/{organisation.slug}/sign-in/",
            {"email": customer.email, "password": CUSTOMER_PASSWORD},
            HTTP_USER_AGENT=CHROME_ON_ANDROID,
            REMOTE_ADDR="203.0.113.7",
        )

    row = row_of(client)
    assert (row.customer, row.organisation, row.method) == (customer, organisation, "password")
    assert (row.ip, row.user_agent, row.session_version) == ("203.0.113.7", CHROME_ON_ANDROID, customer.session_version)
    assert row.created_at == row.last_seen_at == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert row.expires_at == row.created_at + organisation.session_lifetime
    assert row.ended_at is None


def test_a_new_sign_in_in_the_same_browser_ends_the_sessions_row_it_replaces(client, customer):
    sign_in_page = f"/{customer.organisation.slug}/sign-in/"
    client.post(sign_in_page, {"email": customer.email, "password": CUSTOMER_PASSWORD})
    first = row_of(client)

    client.post(sign_in_page, {"email": customer.email, "password": CUSTOMER_PASSWORD})

    first.refresh_from_db()
    assert first.ended_at is not None
    assert row_of(client) != first and row_of(client).ended_at is None
    assert CustomerSession.objects.filter(ended_at__isnull=True).count() == 1


def test_signing_out_ends_the_sessions_row(customer, sign_in):
    client = sign_in(customer)
    row = row_of(client)

    client.post(f"/{customer.organisation.slug}/sign-out/")

    row.refresh_from_db()
    assert row.ended_at is not None


def test_last_seen_is_written_at_most_once_per_five_minutes(customer, sign_in):
    TicketFactory(organisation=customer.organisation, requester=customer)
    tickets = f"/{customer.organisation.slug}/support/"
    with time_machine.travel("2026-12-01 09:00:00+00:00", tick=False) as traveller:
        client = sign_in(customer)
        row = row_of(client)
        signed_in_at = row.last_seen_at

        for minutes in (1, 2, 4):  # rendered, then from the page cache
            traveller.move_to(f"2026-12-01 09:0{minutes}:00+00:00")
            with CaptureQueriesContext(connection) as queries:
                assert client.get(tickets).status_code == 200
            assert customer_session_writes(queries) == []
        row.refresh_from_db()
        assert row.last_seen_at == signed_in_at

        traveller.move_to("2026-12-01 09:05:00+00:00")
        with CaptureQueriesContext(connection) as queries:
            client.get(tickets)
        assert len(customer_session_writes(queries)) == 1
        row.refresh_from_db()
        assert row.last_seen_at == signed_in_at + timedelta(seconds=SEEN_EVERY)
        assert client.session[SESSION_SEEN] == int(row.last_seen_at.timestamp())

        traveller.move_to("2026-12-01 09:09:59+00:00")
        with CaptureQueriesContext(connection) as queries:
            client.get(tickets)
        assert customer_session_writes(queries) == []


def test_a_page_served_from_the_page_cache_notes_last_seen_too(customer, sign_in):
    home = f"/{customer.organisation.slug}/"
    with time_machine.travel("2026-12-01 09:00:00+00:00", tick=False) as traveller:
        client = sign_in(customer)
        client.get(home)
        traveller.move_to("2026-12-01 09:06:00+00:00")

        cached = client.get(home)

    assert cached.context is None  # the page cache answered, not the view
    assert row_of(client).last_seen_at.isoformat() == "2026-12-01T09:06:00+00:00"


def test_a_session_opened_before_sessions_were_recorded_stays_signed_in_and_gets_its_row(customer, sign_in):
    client = sign_in(customer)
    CustomerSession.objects.all().delete()
    session = client.session
    del session[SESSION_ROW], session[SESSION_SEEN]
    session.save()

    assert client.get(f"/{customer.organisation.slug}/").status_code == 200

    row = row_of(client)
    assert (row.customer, row.method, row.ended_at) == (customer, "password", None)
    assert int(row.expires_at.timestamp()) == client.session["portal_expires_at"]


def test_an_ended_session_is_signed_out_on_its_next_request(customer, sign_in):
    mine, other = sign_in(customer), sign_in(customer)

    session_end(customer=customer, session_id=row_of(other).pk, origin=ClientOrigin(ip="127.0.0.1"))

    signed_out = other.get(f"/{customer.organisation.slug}/")
    assert signed_out.status_code == 302 and "/sign-in/" in signed_out["Location"]
    assert mine.get(f"/{customer.organisation.slug}/").status_code == 200


@pytest.mark.parametrize(
    "engine", ["django.contrib.sessions.backends.cached_db", "django.contrib.sessions.backends.db"]
)
def test_the_page_cache_never_serves_an_ended_sessions_page(customer, settings, engine, django_assert_num_queries):
    settings.SESSION_ENGINE = engine
    TicketFactory(organisation=customer.organisation, requester=customer, subject="Lost luggage")
    tickets = f"/{customer.organisation.slug}/support/"
    browsers = []
    for _ in range(2):
        client = Client()
        request = _SessionRequest(client)
        if engine.endswith("cached_db"):
            request.session = CachedDbSession()
        portal_sign_in(request, customer, method="password")
        request.save()
        client.get(tickets)
        browsers.append(client)
    mine, other = browsers
    if engine.endswith("cached_db"):
        with django_assert_num_queries(0):  # the page is kept: this is the answer that must not outlive the session
            assert "Lost luggage" in other.get(tickets).content.decode()

    session_end(customer=customer, session_id=row_of(other).pk, origin=ClientOrigin(ip="127.0.0.1"))

    response = other.get(tickets)
    assert response.status_code == 302 and "/sign-in/" in response["Location"]
    assert "Lost luggage" in mine.get(tickets).content.decode()
    # The customer's own browser keeps the page again; the ended one still gets none of it.
    assert "Lost luggage" in mine.get(tickets).content.decode()
    response = other.get(tickets)
    assert response.status_code == 302 and "/sign-in/" in response["Location"]
