"""portal_auth/account_views.py: "Recent access" and "Your sessions", with their End and sign-out-everywhere buttons."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from portal_auth import account_views
from portal_auth.models import AccessEvent, Customer, CustomerSession, CustomerToken, PortalSection
from portal_auth.sessions import SESSION_ROW
from tests.concurrency import calls_at_once
from tests.factories import CustomerFactory, primary_portal_of

Kind = AccessEvent.Kind
PAGES = ("", "sessions/")


def access_url(customer, page=""):
    return f"/{customer.organisation.slug}/profile/access/{page}"


def row_of(client) -> CustomerSession:
    return CustomerSession.objects.get(pk=client.session[SESSION_ROW])


def signed_in(client, customer) -> bool:
    return client.get(f"/{customer.organisation.slug}/").status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_ask_a_visitor_to_sign_in(client, customer, page):
    response = client.get(access_url(customer, page))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{customer.organisation.slug}/sign-in/?next=")


def test_the_pages_go_with_the_profile_where_a_portal_turns_it_off(customer, sign_in):
    portal = primary_portal_of(customer.organisation)
    PortalSection.objects.filter(portal=portal, key="profile").update(enabled=False)
    portal.section_layout_refresh()
    client = sign_in(customer)
    session = row_of(client)

    answers = [client.get(access_url(customer, page)).status_code for page in PAGES]
    ended = client.post(access_url(customer, "sessions/end/"), {"session": session.pk})

    assert answers == [404, 404] and ended.status_code == 404
    assert signed_in(client, customer)


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_cost_three_queries_and_are_never_stored(customer, sign_in, page, django_assert_max_num_queries):
    client = sign_in(customer)
    for _ in range(3):
        sign_in(customer)
    AccessEvent.objects.bulk_create(
        AccessEvent(organisation=customer.organisation, customer=customer, kind=Kind.SIGN_IN, method="password")
        for _ in range(30)
    )

    with django_assert_max_num_queries(3):  # the session, who is asking, the list
        response = client.get(access_url(customer, page))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response.context is not None  # rendered, not kept in the page cache
    assert client.get(access_url(customer, page)).context is not None


def test_recent_access_shows_time_in_the_organisations_zone_door_browser_and_address(customer, sign_in):
    customer.organisation.time_zone = "Europe/Lisbon"
    customer.organisation.save()
    event = AccessEvent.objects.create(
        organisation=customer.organisation,
        customer=customer,
        kind=Kind.SIGN_IN,
        method="email_code",
        ip="2001:db8::1",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    AccessEvent.objects.filter(pk=event.pk).update(created_at="2026-07-01T12:30:00+00:00")
    AccessEvent.objects.create(
        organisation=customer.organisation, customer=customer, kind=Kind.SIGN_IN_CODE_REFUSED, method="email_code"
    )
    with time_machine.travel("2026-07-02 08:00:00+00:00", tick=False):
        html = sign_in(customer).get(access_url(customer)).content.decode()

    assert "Signed in with an emailed code" in html
    assert '<time datetime="2026-07-01T12:30:00+00:00">1 Jul 2026, 13:30</time>' in html  # summer time in Lisbon
    assert "Firefox on Linux" in html and "2001:db8::1" in html
    assert '<span class="badge badge-warning">Refused</span> An emailed code' in html
    assert "Europe/Lisbon time" in html


def test_recent_access_shows_none_of_another_customers_access(customer, other_customer, sign_in):
    sign_in(other_customer)  # signs in through portal_sign_in: logged for them
    AccessEvent.objects.filter(customer=other_customer).update(ip="192.0.2.55")

    html = sign_in(customer).get(access_url(customer)).content.decode()

    assert "192.0.2.55" not in html
    assert html.count("Signed in with") == 1


def test_your_sessions_marks_this_browser_and_offers_end_for_the_others(customer, sign_in):
    here = sign_in(customer)
    there = sign_in(customer)

    html = here.get(access_url(customer, "sessions/")).content.decode()

    assert html.count('<span class="badge badge-success">This browser</span>') == 1
    assert html.count('name="session"') == 1
    assert f'name="session" value="{row_of(there).pk}"' in html
    assert f'value="{row_of(here).pk}"' not in html
    assert "Sign out everywhere and withdraw my links" in html
    assert html.count('name="csrfmiddlewaretoken"') >= 3  # the header's sign-out, End, sign out everywhere


def test_end_signs_the_other_browser_out(customer, sign_in):
    here, there = sign_in(customer), sign_in(customer)
    there.get(f"/{customer.organisation.slug}/")

    response = here.post(access_url(customer, "sessions/end/"), {"session": row_of(there).pk})

    assert response.status_code == 302 and response["Location"] == access_url(customer, "sessions/")
    assert "its browser is signed out" in here.get(response["Location"]).content.decode()
    assert not signed_in(there, customer) and signed_in(here, customer)
    assert AccessEvent.objects.filter(kind=Kind.SESSION_ENDED, customer=customer).count() == 1


def test_end_on_another_customers_session_is_a_logged_404(customer, other_customer, sign_in):
    theirs = sign_in(other_customer)
    here = sign_in(customer)

    response = here.post(access_url(customer, "sessions/end/"), {"session": row_of(theirs).pk})

    assert response.status_code == 404
    refused = AccessEvent.objects.get(kind=Kind.ACCESS_REFUSED)
    assert (refused.customer, refused.reason) == (customer, f"session {row_of(theirs).pk}")
    assert signed_in(theirs, other_customer)


def test_end_on_this_browsers_own_session_signs_out(customer, sign_in):
    here = sign_in(customer)
    row = row_of(here)

    response = here.post(access_url(customer, "sessions/end/"), {"session": row.pk})

    assert response["Location"] == f"/{customer.organisation.slug}/sign-in/"
    assert not signed_in(here, customer)
    row.refresh_from_db()
    assert row.ended_at is not None


def test_the_buttons_addresses_opened_by_a_link_show_the_sessions_page(customer, sign_in):
    client = sign_in(customer)
    for action in ("sessions/end/", "sessions/sign-out-everywhere/"):
        response = client.get(access_url(customer, action))
        assert response.status_code == 302
        assert response["Location"].startswith(access_url(customer, "sessions/"))
    assert not AccessEvent.objects.filter(kind__in=(Kind.SESSION_ENDED, Kind.SIGNED_OUT_EVERYWHERE)).exists()


def test_the_buttons_need_the_forms_csrf_token(customer, sign_in):
    here = sign_in(customer, Client(enforce_csrf_checks=True))
    there = sign_in(customer)

    assert here.post(access_url(customer, "sessions/end/"), {"session": row_of(there).pk}).status_code == 403
    assert here.post(access_url(customer, "sessions/sign-out-everywhere/")).status_code == 403
    assert signed_in(there, customer)


def test_sign_out_everywhere_from_the_page(customer, sign_in):
    here, there = sign_in(customer), sign_in(customer)
    link, _raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.ACCESS_LINK, lifetime=timedelta(days=30)
    )

    response = here.post(access_url(customer, "sessions/sign-out-everywhere/"))

    assert response["Location"] == access_url(customer, "sessions/")
    page = here.get(response["Location"]).content.decode()
    assert "Signed out everywhere else (1 other session) and 1 emailed link withdrawn" in page
    assert not signed_in(there, customer) and signed_in(here, customer)
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_sign_out_everywhere_signs_out_a_session_ended_after_it_was_let_in(customer, sign_in, monkeypatch):
    browser, other = sign_in(customer), sign_in(customer)
    real = account_views.sign_out_everywhere

    def ended_on_the_way(request, customer, **kwargs):
        # A password change committing between the check of who is asking and this write.
        Customer.objects.filter(pk=customer.pk).update(session_version=F("session_version") + 1)
        return real(request, customer, **kwargs)

    monkeypatch.setattr(account_views, "sign_out_everywhere", ended_on_the_way)
    response = browser.post(access_url(customer, "sessions/sign-out-everywhere/"))

    assert response["Location"] == f"/{customer.organisation.slug}/sign-in/"
    assert not signed_in(browser, customer)
    assert row_of(other).ended_at is None  # nothing was ended on the ended session's say
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGNED_OUT_EVERYWHERE).exists()


def test_a_session_ended_elsewhere_can_not_end_others(customer, sign_in):
    """The session that was ended is signed out: its buttons, pressed later, do nothing but ask it to sign in."""
    here, there = sign_in(customer), sign_in(customer)
    here.post(access_url(customer, "sessions/end/"), {"session": row_of(there).pk})

    response = there.post(access_url(customer, "sessions/sign-out-everywhere/"))

    assert "/sign-in/" in response["Location"]
    assert signed_in(here, customer)
    assert not CustomerSession.objects.filter(pk=row_of(here).pk, ended_at__lte=timezone.now()).exists()


def test_a_deactivated_customer_sees_nothing(customer, sign_in):
    client = sign_in(customer)
    customer.is_active = False
    customer.save()
    assert client.get(access_url(customer, "sessions/")).status_code == 302


def test_sign_out_everywhere_ends_a_copy_of_this_browsers_own_cookie(customer, sign_in):
    here = sign_in(customer)
    copy = Client()
    copy.cookies["sessionid"] = here.cookies["sessionid"].value

    here.post(access_url(customer, "sessions/sign-out-everywhere/"))

    assert signed_in(here, customer)
    assert not signed_in(copy, customer)


def sign_out_everywhere_form(client, customer) -> dict:
    """What the "Sign out everywhere" button sends, from the page as this browser was shown it."""
    html = client.get(access_url(customer, "sessions/")).content.decode()
    form = html.split('id="sign-out-everywhere"', 1)[1]
    return {"sent_once_token": form.split('name="sent_once_token" value="', 1)[1].split('"', 1)[0]}


def test_sign_out_everywhere_pressed_again_before_the_first_answer_keeps_this_browser_in(customer, sign_in):
    """The second press goes with the cookie the browser held before the first press's answer came back."""
    here, there = sign_in(customer), sign_in(customer)
    pressed = sign_out_everywhere_form(here, customer)
    again = Client()
    again.cookies["sessionid"] = here.cookies["sessionid"].value

    first = here.post(access_url(customer, "sessions/sign-out-everywhere/"), pressed)
    second = again.post(access_url(customer, "sessions/sign-out-everywhere/"), pressed)

    assert first["Location"] == second["Location"] == access_url(customer, "sessions/")
    page = again.get(second["Location"]).content.decode()
    assert "You have signed out everywhere else. You are still signed in here." in page
    assert again.cookies["sessionid"].value == here.cookies["sessionid"].value
    assert signed_in(again, customer) and signed_in(here, customer) and not signed_in(there, customer)
    assert row_of(here).ended_at is None
    assert AccessEvent.objects.filter(kind=Kind.SIGNED_OUT_EVERYWHERE).count() == 1


def test_a_copy_of_the_cookie_sending_its_own_press_after_sign_out_everywhere_stays_out(customer, sign_in):
    here = sign_in(customer)
    copy = Client()
    copy.cookies["sessionid"] = here.cookies["sessionid"].value
    copys_own = sign_out_everywhere_form(copy, customer)

    here.post(access_url(customer, "sessions/sign-out-everywhere/"), sign_out_everywhere_form(here, customer))

    for sent in (copys_own, {}):
        response = copy.post(access_url(customer, "sessions/sign-out-everywhere/"), sent)
        assert response["Location"].startswith(f"/{customer.organisation.slug}/sign-in/?next=")
    assert not signed_in(copy, customer) and signed_in(here, customer)


def pressed_at_once_by_two_copies_of(here, customer) -> tuple[list, list, list[Client]]:
    """The button as `here` shows it, sent twice at the same moment with `here`'s cookie (a double click)."""
    pressed = sign_out_everywhere_form(here, customer)
    clients = [Client(), Client()]
    for client in clients:
        client.cookies["sessionid"] = here.cookies["sessionid"].value
    sending = list(clients)
    answers, errors = calls_at_once(
        2, lambda: sending.pop().post(access_url(customer, "sessions/sign-out-everywhere/"), pressed)
    )
    return answers, errors, clients


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_sign_out_everywhere_pressed_twice_at_the_same_moment_keeps_this_browser_in(sign_in):
    customer = CustomerFactory(with_password=True)
    for _ in range(3):
        customer.refresh_from_db()  # the session version the last round moved on
        here, there = sign_in(customer), sign_in(customer)

        answers, errors, clients = pressed_at_once_by_two_copies_of(here, customer)

        assert errors == []
        assert [answer["Location"] for answer in answers] == [access_url(customer, "sessions/")] * 2
        assert all(signed_in(client, customer) for client in clients) and not signed_in(there, customer)
    assert AccessEvent.objects.filter(kind=Kind.SIGNED_OUT_EVERYWHERE).count() == 3
