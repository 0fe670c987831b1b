"""portal_auth/account.py: a customer's recent access, their live sessions, and ending them."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal_auth.access_log import LookRefused
from portal_auth.account import (
    RECENT_ACCESS_DAYS,
    RECENT_ACCESS_SHOWN,
    customer_sessions,
    recent_access,
    session_end,
    sign_out_everywhere,
)
from portal_auth.doors.access_link.services import PORTAL_DOOR, access_link_send, access_links_revoke
from portal_auth.models import AccessEvent, Customer, CustomerSession, CustomerToken
from portal_auth.services import (
    customer_password_reset_by_staff,
    customer_password_set,
    customer_provision,
    password_link_send,
)
from portal_auth.sessions import SESSION_ROW, SESSION_SEEN, SESSION_VERSION
from portal_core.origin import ClientOrigin
from tests.conftest import as_shown, link_in
from tests.factories import CustomerFactory, OrganisationFactory

Kind = AccessEvent.Kind
ORIGIN = ClientOrigin(ip="198.51.100.4", user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0")
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


class Request:
    """What sign_out_everywhere reads of the request: the browser's session and where it came from."""

    def __init__(self, client):
        self.session = client.session
        self.META = {"REMOTE_ADDR": "198.51.100.4", "HTTP_USER_AGENT": ORIGIN.user_agent}


def row_of(client) -> CustomerSession:
    return CustomerSession.objects.get(pk=client.session[SESSION_ROW])


def emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        access_link_send(
            customer=customer,
            next_path=f"/{customer.organisation.slug}/",
            created_by=None,
            link_route=PORTAL_DOOR.link_route,
            email_template=PORTAL_DOOR.email_template,
        )
    return link_in(mailoutbox[-1].body, "/link/").removeprefix("https://portal.example.test")


def press(link: str, slug: str) -> str:
    """Open an emailed link in a new browser and press its button: where that leads."""
    browser = Client()
    browser.get(link)
    return browser.post(f"/{slug}/link/open/", as_shown(browser, f"/{slug}/link/open/"))["Location"]


def signed_in(client, customer) -> bool:
    return client.get(f"/{customer.organisation.slug}/").status_code == 200


# ---------------------------------------------------------------------------------------------
# Sign out everywhere


def test_sign_out_everywhere_ends_the_other_browsers_and_keeps_this_one(customer, sign_in):
    here, phone, laptop = sign_in(customer), sign_in(customer), sign_in(customer)
    for browser in (phone, laptop):
        browser.get(f"/{customer.organisation.slug}/")
        assert browser.get(f"/{customer.organisation.slug}/").context is None  # kept in the page cache
    request = Request(here)

    assert sign_out_everywhere(request, customer) == (2, 0)
    request.session.save()
    here.cookies["sessionid"] = request.session.session_key  # the new key, as the response would set it

    assert not signed_in(phone, customer) and not signed_in(laptop, customer)
    assert signed_in(here, customer)
    assert [session.current for session in customer_sessions(customer, current_id=row_of(here).pk)] == [True]
    assert row_of(here).session_version == customer.session_version == here.session[SESSION_VERSION]
    assert row_of(phone).ended_at is not None
    event = AccessEvent.objects.get(kind=Kind.SIGNED_OUT_EVERYWHERE)
    assert (event.customer, event.reason, event.ip) == (customer, "2 other sessions ended", "198.51.100.4")


def test_sign_out_everywhere_from_a_session_a_password_change_ended_changes_nothing(customer, sign_in, admin_user):
    # A stolen session, let in just before the owner's new password committed, asks to sign out everywhere else.
    stolen = sign_in(customer)
    request = Request(stolen)
    customer_password_reset_by_staff(
        origin=ORIGIN, customer=customer, password="a new long passphrase", staff_user=admin_user
    )
    customer.refresh_from_db()
    version = customer.session_version

    assert sign_out_everywhere(request, customer) is None

    customer.refresh_from_db()
    assert customer.session_version == version  # not raised on top of the password change
    assert request.session[SESSION_VERSION] != version
    assert not signed_in(stolen, customer)
    assert not AccessEvent.objects.filter(kind=Kind.SIGNED_OUT_EVERYWHERE).exists()


def test_sign_out_everywhere_from_a_session_ended_meanwhile_changes_nothing(customer, sign_in):
    ended, other = sign_in(customer), sign_in(customer)
    request = Request(ended)
    assert session_end(customer=customer, session_id=row_of(ended).pk, origin=ORIGIN)
    version = customer.session_version

    assert sign_out_everywhere(request, customer) is None

    customer.refresh_from_db()
    assert customer.session_version == version
    assert row_of(other).ended_at is None and signed_in(other, customer)
    assert not signed_in(ended, customer)


def test_sign_out_everywhere_voids_every_emailed_link_sent_before(
    customer, sign_in, mailoutbox, django_capture_on_commit_callbacks
):
    slug = customer.organisation.slug
    request = Request(sign_in(customer))
    link = emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        password_link_send(origin=ORIGIN, organisation=customer.organisation, email=customer.email)

    assert sign_out_everywhere(request, customer) == (0, 2)

    assert press(link, slug) == f"/{slug}/link/new/"
    assert AccessEvent.objects.get(kind=Kind.ACCESS_LINK_REFUSED).reason == "revoked link"
    assert not CustomerToken.objects.filter(revoked_at__isnull=True).exists()
    revoked = AccessEvent.objects.get(kind=Kind.ACCESS_LINKS_REVOKED)
    assert (revoked.customer, revoked.staff_user, revoked.reason) == (customer, None, "1 link and 1 password link")
    # A link sent afterwards works: nothing is withdrawn but what was out there.
    assert press(emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks), slug) == f"/{slug}/"


def test_sign_out_everywhere_ends_a_session_no_row_lists(customer, sign_in):
    unlisted = sign_in(customer)
    session = unlisted.session
    del session[SESSION_ROW], session[SESSION_SEEN]
    session.save()
    CustomerSession.objects.filter(customer=customer).delete()
    request = Request(sign_in(customer))

    sign_out_everywhere(request, customer)

    assert not signed_in(unlisted, customer)


def test_sign_out_everywhere_leaves_other_customers_alone(customer, stranger, sign_in, mailoutbox):
    theirs = sign_in(stranger)
    link = access_link_send(
        customer=stranger,
        next_path="",
        created_by=None,
        link_route=PORTAL_DOOR.link_route,
        email_template=PORTAL_DOOR.email_template,
    )

    sign_out_everywhere(Request(sign_in(customer)), customer)

    assert signed_in(theirs, stranger)
    link.refresh_from_db()
    assert link.revoked_at is None


# ---------------------------------------------------------------------------------------------
# Ending one session


def test_ending_a_session_signs_its_browser_out_and_is_logged(customer, sign_in):
    here, there = sign_in(customer), sign_in(customer)

    assert session_end(customer=customer, session_id=row_of(there).pk, origin=ORIGIN) is True

    assert not signed_in(there, customer) and signed_in(here, customer)
    event = AccessEvent.objects.get(kind=Kind.SESSION_ENDED)
    assert (event.customer, event.method, event.ip) == (customer, "password", "198.51.100.4")
    assert event.reason.startswith("Unknown browser, signed in ")  # the test client's user agent is "pytest"
    assert session_end(customer=customer, session_id=row_of(there).pk, origin=ORIGIN) is False
    assert AccessEvent.objects.filter(kind=Kind.SESSION_ENDED).count() == 1


def test_another_customers_session_cannot_be_ended(customer, other_customer, sign_in):
    theirs = sign_in(other_customer)

    with pytest.raises(LookRefused):
        session_end(customer=customer, session_id=row_of(theirs).pk, origin=ORIGIN)

    assert signed_in(theirs, other_customer)
    assert row_of(theirs).ended_at is None


# ---------------------------------------------------------------------------------------------
# The live sessions


def test_only_live_sessions_are_listed_most_recently_seen_first(customer, sign_in):
    older, newer, ended, expired = (sign_in(customer) for _ in range(4))
    CustomerSession.objects.filter(pk=row_of(older).pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
    CustomerSession.objects.filter(pk=row_of(ended).pk).update(ended_at=timezone.now())
    CustomerSession.objects.filter(pk=row_of(expired).pk).update(expires_at=timezone.now())
    CustomerSession.objects.create(
        organisation=customer.organisation,
        customer=CustomerFactory(organisation=customer.organisation),
        method="password",
        session_version=1,
        expires_at=timezone.now() + timedelta(hours=1),
    )

    sessions = customer_sessions(customer, current_id=row_of(newer).pk)

    assert [(session.id, session.current) for session in sessions] == [
        (row_of(newer).pk, True),
        (row_of(older).pk, False),
    ]
    assert (sessions[0].browser, sessions[0].door, sessions[0].ip) == (
        "Unknown browser",
        "email and password",
        "127.0.0.1",
    )


@pytest.mark.parametrize(
    "ends_all",
    [
        pytest.param(
            lambda customer, staff: access_links_revoke(customer=customer, staff_user=staff), id="links revoked"
        ),
        pytest.param(
            lambda customer, staff: customer_password_reset_by_staff(
                origin=None, customer=customer, password="a new long password 2026!", staff_user=staff
            ),
            id="password set by staff",
        ),
    ],
)
def test_sessions_ended_by_staff_are_not_listed(ends_all, customer, staff_user, sign_in):
    sign_in(customer)

    ends_all(customer, staff_user)

    customer.refresh_from_db()
    assert customer_sessions(customer) == []


# ---------------------------------------------------------------------------------------------
# Recent access


def log(customer, kind, *, days_ago=0, **fields):
    event = AccessEvent.objects.create(
        organisation=customer.organisation, customer=customer, kind=kind, ip="203.0.113.9", **fields
    )
    AccessEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return event


def test_recent_access_lists_the_customers_own_ways_in_and_refusals_of_the_last_90_days(customer, other_organisation):
    organisation = customer.organisation
    log(customer, Kind.SIGN_IN, days_ago=2, method="access_link", user_agent=SAFARI_ON_IPHONE)
    log(customer, Kind.ACCESS_LINK_REFUSED, days_ago=3, method="access_link", reason="expired link")
    log(customer, Kind.SIGN_IN, days_ago=RECENT_ACCESS_DAYS - 1, method="password")
    log(customer, Kind.SIGN_IN, days_ago=RECENT_ACCESS_DAYS + 1, method="password")  # too old
    log(customer, Kind.ACCESS_LINK_SENT, days_ago=1, method="access_link")  # not a way in
    log(CustomerFactory(organisation=organisation), Kind.SIGN_IN, method="password")  # another customer's
    namesake = CustomerFactory(organisation=other_organisation, email=customer.email)
    log(namesake, Kind.SIGN_IN, method="password")  # the same email at another organisation
    AccessEvent.objects.create(organisation=organisation, kind=Kind.SIGN_IN_FAILED, email=customer.email)

    rows = recent_access(customer)

    assert [(row.what, row.refused) for row in rows] == [
        ("Signed in with an emailed link", False),
        ("An emailed link (expired link)", True),
        ("Signed in with email and password", False),
    ]
    assert (rows[0].browser, rows[0].ip) == ("Safari on iPhone", "203.0.113.9")


def test_recent_access_names_the_organisations_own_doors(customer):
    customer.organisation.display_name = "Atlantic Tours"
    customer.organisation.save()
    log(customer, Kind.SIGN_IN, days_ago=1, method="external_sign_on")
    log(customer, Kind.SIGN_IN_REDIRECT_REFUSED, days_ago=2, method="api_redirect", reason="used link")

    assert [row.what for row in recent_access(customer)] == [
        "Signed in with Atlantic Tours’s own sign-in",
        "Atlantic Tours’s app (used link)",
    ]


def test_recent_access_stops_after_the_newest_ones(customer):
    AccessEvent.objects.bulk_create(
        AccessEvent(organisation=customer.organisation, customer=customer, kind=Kind.SIGN_IN, method="password")
        for _ in range(RECENT_ACCESS_SHOWN + 5)
    )

    assert len(recent_access(customer)) == RECENT_ACCESS_SHOWN + 1  # one more, to say there are more


# ---------------------------------------------------------------------------------------------
# What a new password or a moved address ends, whoever made the change


def test_a_new_password_revokes_every_emailed_link(
    customer, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    slug = customer.organisation.slug
    link = emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks)

    customer_password_reset_by_staff(
        origin=ORIGIN, customer=customer, password="a new long passphrase", staff_user=admin_user
    )

    assert press(link, slug) == f"/{slug}/link/new/"
    assert not CustomerToken.objects.filter(purpose__in=CustomerToken.LINK_PURPOSES, revoked_at__isnull=True).exists()


def test_the_business_moving_an_address_through_the_api_ends_what_the_old_one_opened(
    customer, sign_in, mailoutbox, django_capture_on_commit_callbacks
):
    slug = customer.organisation.slug
    customer.external_id = "u-42"
    customer.save(update_fields=["external_id"])
    browser = sign_in(customer)
    link = emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks)
    old_email = customer.email

    moved, created = customer_provision(
        organisation=customer.organisation, external_id="u-42", email="corrected@example.com", name=""
    )

    assert (moved.pk, moved.email, created) == (customer.pk, "corrected@example.com", False)
    assert not signed_in(browser, customer)
    assert press(link, slug) == f"/{slug}/link/new/"
    event = AccessEvent.objects.get(kind=Kind.EMAIL_CHANGED)
    assert event.reason == f"from {old_email} to corrected@example.com through the API; 1 emailed link revoked"


def test_provisioning_an_unchanged_address_ends_nothing(customer, sign_in):
    customer.external_id = "u-42"
    customer.save(update_fields=["external_id"])
    browser = sign_in(customer)

    customer_provision(organisation=customer.organisation, external_id="u-42", email=customer.email, name="New name")

    assert signed_in(browser, customer)
    assert not AccessEvent.objects.filter(kind=Kind.EMAIL_CHANGED).exists()


def test_staff_moving_an_address_in_the_admin_ends_what_the_old_one_opened(
    customer, sign_in, admin_client, mailoutbox, django_capture_on_commit_callbacks
):
    slug = customer.organisation.slug
    browser = sign_in(customer)
    link = emailed_link(customer, mailoutbox, django_capture_on_commit_callbacks)
    old_email = customer.email
    change = f"/admin/portal_auth/customer/{customer.pk}/change/"
    form = {
        "organisation": customer.organisation_id,
        "email": "corrected@example.com",
        "name": customer.name,
        "external_id": customer.external_id or "",
        "is_active": "on",
    }

    response = admin_client.post(change, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    customer.refresh_from_db()
    assert customer.email == "corrected@example.com"
    assert not signed_in(browser, customer)
    assert press(link, slug) == f"/{slug}/link/new/"
    event = AccessEvent.objects.get(kind=Kind.EMAIL_CHANGED)
    assert event.staff_user is not None and event.staff_user.is_staff
    assert event.reason == f"from {old_email} to corrected@example.com by staff; 1 emailed link revoked"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one writer at a time: no such race")
@pytest.mark.django_db(transaction=True)
def test_two_first_provisionings_at_once_make_one_customer_and_neither_fails():
    organisation = OrganisationFactory()
    start, outcomes = threading.Barrier(4), []

    def provision():
        try:
            start.wait()
            outcomes.append(
                customer_provision(organisation=organisation, external_id="u-7", email="z@example.com", name="Z")[1]
            )
        except BaseException as error:  # noqa: BLE001 - reported to the test
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=provision) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == [False, False, False, True]  # one created, the others found it
    assert Customer.objects.filter(organisation=organisation, external_id="u-7").count() == 1


def test_the_password_link_chosen_with_is_used_and_every_other_live_one_revoked(customer):
    hour = timedelta(hours=1)
    chosen_with, other, expired = (
        CustomerToken.issue(customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=hour)[0]
        for _ in range(3)
    )
    CustomerToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    customer_password_set(origin=ORIGIN, token=chosen_with, password="a new long passphrase")

    chosen_with.refresh_from_db()
    other.refresh_from_db()
    expired.refresh_from_db()
    assert chosen_with.used_at is not None and chosen_with.revoked_at is None
    assert other.revoked_at is not None and other.used_at is None
    # An expired link opens nothing already: its record stays as it was.
    assert expired.used_at is None and expired.revoked_at is None
    assert not CustomerToken.objects.filter(customer=customer).live().exists()
