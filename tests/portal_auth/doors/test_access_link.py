"""Links in notification emails: one door for any page of the portal, a link that signs in once, and the
organisation's setting that decides whether they sign in at all."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from outbox.models import OutboxEmail
from portal_auth.doors.access_link.services import (
    PORTAL_DOOR,
    PlannedLink,
    access_links_revoke,
    access_links_send,
    notification_link_make,
)
from portal_auth.doors.access_link.views import TOKEN_SESSION_KEY
from portal_auth.models import AccessEvent, CustomerToken, hash_token
from portal_auth.sessions import SESSION_CUSTOMER
from portal_core.origin import ClientOrigin
from tests.conftest import as_shown, link_in
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory

SITE_URL = "https://portal.example.test"


@pytest.fixture
def signing_organisation(db):
    return OrganisationFactory(notification_links_sign_in=True)


def make_link(customer, path=None):
    return notification_link_make(customer=customer, next_path=path or f"/{customer.organisation.slug}/bookings/")


def open_page(client, link):
    path = link.url.removeprefix(SITE_URL)
    assert client.get(path)["Location"] == f"/{link.url.split('/')[3]}/link/open/"
    return client.get(f"/{link.url.split('/')[3]}/link/open/")


def test_the_link_names_the_account_and_opens_nothing_until_pressed(signing_organisation):
    customer = CustomerFactory(organisation=signing_organisation)
    link = make_link(customer)
    client = Client()

    page = open_page(client, link)

    html = page.content.decode()
    assert page.status_code == 200
    assert f"This link opens the portal of <strong>{customer.email}</strong>" in html
    assert '<button type="submit" class="button">Open portal</button>' in html
    assert SESSION_CUSTOMER not in client.session
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_USED).exists()
    assert link.signs_in and link.secrets == [link.url]


def test_a_used_link_offers_a_new_one_which_opens_the_portal_home(
    signing_organisation, mailoutbox, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(organisation=signing_organisation)
    link = make_link(customer)
    slug = signing_organisation.slug
    open_page(Client(), link)
    first = Client()
    open_page(first, link)
    first.post(f"/{slug}/link/open/", as_shown(first, f"/{slug}/link/open/"))

    client = Client()
    client.get(link.url.removeprefix(SITE_URL))
    refused = client.post(f"/{slug}/link/open/", as_shown(client, f"/{slug}/link/open/"))
    assert refused["Location"] == f"/{slug}/link/new/"
    page = client.get(refused["Location"]).content.decode()
    assert "This link no longer works" in page and "those in notification emails, once" in page
    assert "If it has an account with" in page
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/{slug}/link/new/", {"email": customer.email.upper()})
    assert sent["Location"] == f"/{slug}/link/new/sent/"

    [email] = mailoutbox
    assert email.to == [customer.email]
    new_link = link_in(email.body, f"/{slug}/link/")
    client.get(new_link.removeprefix(SITE_URL))
    assert client.post(f"/{slug}/link/open/", as_shown(client, f"/{slug}/link/open/"))["Location"] == f"/{slug}/"
    assert client.session[SESSION_CUSTOMER] == customer.pk


def test_without_the_setting_or_for_a_deactivated_customer_the_link_is_the_page_itself(organisation):
    path = f"/{organisation.slug}/bookings/"
    plain = make_link(CustomerFactory(organisation=organisation), path)
    assert (plain.url, plain.signs_in, plain.secrets) == (SITE_URL + path, False, [])

    organisation.notification_links_sign_in = True
    organisation.save()
    deactivated = make_link(CustomerFactory(organisation=organisation, is_active=False), path)
    assert (deactivated.url, deactivated.signs_in) == (SITE_URL + path, False)
    assert not CustomerToken.objects.exists()


def test_revoking_a_customers_links_revokes_their_sign_in_links(signing_organisation):
    customer = CustomerFactory(organisation=signing_organisation)
    link = make_link(customer)

    assert access_links_revoke(customer=customer, staff_user=StaffUserFactory()) == 1

    client = Client()
    client.get(link.url.removeprefix(SITE_URL))
    assert client.post(
        f"/{signing_organisation.slug}/link/open/", as_shown(client, f"/{signing_organisation.slug}/link/open/")
    )["Location"].endswith("/link/new/")
    assert AccessEvent.objects.get(kind=AccessEvent.Kind.ACCESS_LINK_REFUSED).reason == "revoked link"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_pressed_in_many_browsers_at_once_the_link_signs_in_exactly_once():
    organisation = OrganisationFactory(notification_links_sign_in=True)
    customer = CustomerFactory(organisation=organisation)
    link = make_link(customer)
    clients = [Client(REMOTE_ADDR=f"127.0.0.{n}") for n in range(1, 9)]
    for client in clients:
        client.get(link.url.removeprefix(SITE_URL))
    start = threading.Barrier(len(clients))
    landed, errors = [], []

    def press(client):
        try:
            start.wait()
            landed.append(
                client.post(f"/{organisation.slug}/link/open/", as_shown(client, f"/{organisation.slug}/link/open/"))[
                    "Location"
                ]
            )
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(landed) == [f"/{organisation.slug}/bookings/"] + [f"/{organisation.slug}/link/new/"] * 7
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_USED).count() == 1
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_REFUSED, reason="used link").count() == 7


# The door open and closed

# Each page of the door, as the portal routes it and as the ticket portal does, with what it says open.
ACCESS_LINK_PAGES = {
    "link/request/": "<h1>Email me a link</h1>",
    "link/new/": "<h1>This link no longer works</h1>",
    "link/new/sent/": "<h1>Check your email</h1>",
    "support/portal/new-link/": "<h1>This link no longer works</h1>",
    "support/portal/new-link/sent/": "<h1>Check your email</h1>",
}


@pytest.mark.parametrize("page", ACCESS_LINK_PAGES)
def test_the_access_link_doors_pages_answer_when_it_is_open(client, organisation, page):
    response = client.get(f"/{organisation.slug}/{page}")

    assert response.status_code == 200
    assert ACCESS_LINK_PAGES[page] in response.content.decode()


@pytest.mark.parametrize("page", [*ACCESS_LINK_PAGES, "link/open/", "support/portal/open/"])
def test_the_access_link_doors_pages_answer_404_when_it_is_closed(client, organisation, page):
    organisation.doors = ["password"]
    organisation.save()

    for response in (client.get(f"/{organisation.slug}/{page}"), client.post(f"/{organisation.slug}/{page}")):
        assert response.status_code == 404
        assert page not in ACCESS_LINK_PAGES or ACCESS_LINK_PAGES[page] not in response.content.decode()


def test_a_link_sent_before_the_door_closed_signs_no_one_in(signing_organisation):
    customer = CustomerFactory(organisation=signing_organisation)
    link = make_link(customer)
    slug = signing_organisation.slug
    signing_organisation.doors = ["password"]
    signing_organisation.save()
    client = Client()

    landed = client.get(link.url.removeprefix(SITE_URL), follow=True)
    pressed = client.post(f"/{slug}/link/open/", as_shown(client, f"/{slug}/link/open/"))

    assert landed.status_code == 404 and pressed.status_code == 404
    assert SESSION_CUSTOMER not in client.session
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_USED).exists()


def test_notification_links_lead_to_the_page_itself_while_the_door_is_closed(db):
    organisation = OrganisationFactory(notification_links_sign_in=True, doors=["password"])
    customer = CustomerFactory(organisation=organisation)

    link = make_link(customer, f"/{organisation.slug}/bookings/")

    assert (link.url, link.signs_in, link.secrets) == (f"{SITE_URL}/{organisation.slug}/bookings/", False, [])
    assert not CustomerToken.objects.exists()
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_SENT).exists()


def test_email_me_a_link_from_the_sign_in_page_sends_one_that_opens_the_portal(
    client, organisation, customer, mailoutbox, django_capture_on_commit_callbacks
):
    slug = organisation.slug
    sign_in_page = client.get(f"/{slug}/sign-in/").content.decode()
    assert f'href="/{slug}/link/request/?next=/{slug}/">Email me a link</a>' in sign_in_page

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(f"/{slug}/link/request/", {"email": customer.email.upper()})

    assert asked.status_code == 302 and asked["Location"] == f"/{slug}/link/new/sent/"
    assert [message.to for message in mailoutbox] == [[customer.email]]
    link = link_in(mailoutbox[0].body, f"/{slug}/link/")
    fresh = Client()
    assert fresh.get(link.removeprefix(SITE_URL))["Location"] == f"/{slug}/link/open/"
    opened = fresh.post(f"/{slug}/link/open/", as_shown(fresh, f"/{slug}/link/open/"))
    assert opened.status_code == 302 and opened["Location"] == f"/{slug}/"
    assert fresh.session[SESSION_CUSTOMER] == customer.pk


@pytest.mark.parametrize(
    "asked_from", ["//elsewhere.example/", "https://elsewhere.example/", "/another-portal/support/", ""]
)
def test_a_link_asked_for_from_outside_the_portal_opens_the_portal_home(
    client, organisation, customer, mailoutbox, django_capture_on_commit_callbacks, asked_from
):
    slug = organisation.slug
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/{slug}/link/request/", {"email": customer.email, "next": asked_from})

    fresh = Client()
    fresh.get(link_in(mailoutbox[0].body, f"/{slug}/link/").removeprefix(SITE_URL))
    opened = fresh.post(f"/{slug}/link/open/", as_shown(fresh, f"/{slug}/link/open/"))
    assert opened["Location"] == f"/{slug}/"


def test_email_me_a_link_answers_an_unknown_address_alike_and_sends_nothing(
    client, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(f"/{organisation.slug}/link/request/", {"email": "nobody@example.com"})

    assert asked.status_code == 302 and asked["Location"] == f"/{organisation.slug}/link/new/sent/"
    assert mailoutbox == []
    assert not CustomerToken.objects.exists()


def test_email_me_a_link_says_what_is_wrong_with_a_bad_address(client, organisation):
    response = client.post(f"/{organisation.slug}/link/request/", {"email": "not an address"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter an email address like name@example.com." in html
    assert "<h1>Email me a link</h1>" in html


# The door as the portal routes it and as the ticket portal does: (the link's prefix, where the page without a
# link sends a signed-in customer)
ROUTINGS = [("link", ""), ("support/portal", "support/")]


@pytest.mark.parametrize(("prefix", "landing"), ROUTINGS)
def test_the_page_without_a_link_in_the_session_sends_on_and_logs_nothing(
    client, sign_in, customer, organisation, prefix, landing
):
    slug = organisation.slug
    refused = {"link": f"/{slug}/link/new/", "support/portal": f"/{slug}/support/portal/new-link/"}[prefix]
    assert client.get(f"/{slug}/{prefix}/open/")["Location"] == refused
    assert client.post(f"/{slug}/{prefix}/open/", as_shown(client, f"/{slug}/{prefix}/open/"))["Location"] == refused
    # A customer back on the page after using their link goes where the door lands.
    assert sign_in(customer).get(f"/{slug}/{prefix}/open/")["Location"] == f"/{slug}/{landing}"
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_REFUSED).exists()


@pytest.mark.parametrize(("prefix", "landing"), ROUTINGS)
def test_a_link_to_an_unknown_organisation_goes_to_the_front_page(db, client, prefix, landing):
    response = client.get(f"/no-such-organisation/{prefix}/" + "a" * 64)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert TOKEN_SESSION_KEY not in client.session


@pytest.mark.parametrize(("prefix", "landing"), ROUTINGS)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("suffix", ["", "/", "/extra"])
def test_no_error_status_ever_answers_at_the_links_url(organisation, method, suffix, prefix, landing):
    # A CSRF refusal or a 404 would put the URL, token and all, in the request log.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(f"/{organisation.slug}/{prefix}/{'t' * 64}{suffix}")
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/{prefix}/open/"


# The page a refused link leads to, as the portal routes it and as the ticket portal does.
REFUSED_PAGES = ["link/new/", "support/portal/new-link/"]


def ask(client, organisation, email, page):
    return client.post(f"/{organisation.slug}/{page}", {"email": email})


@pytest.mark.parametrize("page", REFUSED_PAGES)
def test_the_refused_page_offers_a_form_for_a_new_link(client, organisation, page):
    response = client.get(f"/{organisation.slug}/{page}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This link no longer works" in html
    assert '<label for="id_email">Your email address</label>' in html
    assert "csrfmiddlewaretoken" in html


@pytest.mark.parametrize("page", REFUSED_PAGES)
def test_an_invalid_email_is_refused_with_a_message(client, organisation, page):
    response = ask(client, organisation, "not an email", page)
    assert response.status_code == 400
    assert "Enter an email address like name@example.com." in response.content.decode()


@pytest.mark.parametrize("page", REFUSED_PAGES)
def test_asking_is_rate_limited_per_ip(settings, organisation, page):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_request": "2/h/ip,5/h/key"}
    client = Client(REMOTE_ADDR="192.0.2.1")
    assert [ask(client, organisation, f"n{i}@example.com", page).status_code for i in range(3)] == [302, 302, 429]


@pytest.mark.parametrize("page", REFUSED_PAGES)
def test_the_form_needs_its_csrf_token(organisation, page):
    client = Client(enforce_csrf_checks=True)
    assert ask(client, organisation, "someone@example.com", page).status_code == 403


def test_the_button_opens_the_account_its_page_named_not_one_another_link_filed_since(signing_organisation):
    victim = CustomerFactory(organisation=signing_organisation, email="victim@example.com")
    attacker = CustomerFactory(organisation=signing_organisation, email="attacker@example.com")
    slug = signing_organisation.slug
    client = Client()
    open_page(client, make_link(victim))
    shown = as_shown(client, f"/{slug}/link/open/")
    # Another site sends the same browser through a link of its own while the victim's page is open.
    client.get(make_link(attacker).url.removeprefix(SITE_URL))

    pressed = client.post(f"/{slug}/link/open/", shown)

    assert pressed.status_code == 302
    assert pressed["Location"] == f"/{slug}/link/open/"  # back to the page, which now names whose link it holds
    assert SESSION_CUSTOMER not in client.session
    assert "<strong>attacker@example.com</strong>" in client.get(pressed["Location"]).content.decode()
    assert not CustomerToken.objects.filter(used_at__isnull=False).exists()


def test_a_customer_signed_in_who_clicks_their_used_link_again_lands_on_its_page(signing_organisation):
    customer = CustomerFactory(organisation=signing_organisation)
    link = make_link(customer, f"/{signing_organisation.slug}/conversations/")
    slug = signing_organisation.slug
    client = Client()
    open_page(client, link)
    client.post(f"/{slug}/link/open/", as_shown(client, f"/{slug}/link/open/"))

    again = client.get(link.url.removeprefix(SITE_URL), follow=True)

    assert again.redirect_chain[-1][0] == f"/{slug}/conversations/"
    assert client.session[SESSION_CUSTOMER] == customer.pk
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_REFUSED).exists()


def test_used_links_clicked_again_from_one_address_do_not_lock_out_a_fresh_one(signing_organisation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_guess": "5/5m/ip"}
    slug = signing_organisation.slug
    used = make_link(CustomerFactory(organisation=signing_organisation))
    first = Client()
    open_page(first, used)
    first.post(f"/{slug}/link/open/", as_shown(first, f"/{slug}/link/open/"))
    for _ in range(8):  # colleagues behind one office address, each clicking an old email again
        colleague = Client()
        colleague.get(used.url.removeprefix(SITE_URL))
        assert colleague.get(f"/{slug}/link/open/")["Location"] == f"/{slug}/link/new/"

    fresh = Client()
    page = open_page(fresh, make_link(CustomerFactory(organisation=signing_organisation)))

    assert page.status_code == 200


def test_made_up_links_from_one_address_are_limited(signing_organisation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_guess": "5/5m/ip"}
    slug = signing_organisation.slug
    guesser = Client()
    statuses = []
    for guess in range(7):
        guesser.get(f"/{slug}/link/made-up-{guess}")
        statuses.append(guesser.get(f"/{slug}/link/open/")["Location"])

    assert statuses[:5] == [f"/{slug}/link/new/"] * 5
    assert guesser.get(f"/{slug}/link/new/").status_code == 429


def send_links(organisation, customers):
    return access_links_send(
        organisation=organisation,
        links=[
            PlannedLink(customer=c, next_path=f"/{organisation.slug}/bookings/", email_context={}) for c in customers
        ],
        created_by=None,
        link_route=PORTAL_DOOR.link_route,
        email_template=PORTAL_DOOR.email_template,
        origin=ClientOrigin.command("test"),
    )


def test_links_to_many_customers_take_as_many_queries_as_one_and_each_email_holds_its_own_customers_link(
    organisation,
):
    first, *customers = [CustomerFactory(organisation=organisation) for _ in range(21)]
    with CaptureQueriesContext(connection) as one:
        send_links(organisation, [first])
    with CaptureQueriesContext(connection) as many:
        tokens = send_links(organisation, customers)

    assert len(many) == len(one)
    for customer, token in zip(customers, tokens, strict=True):
        [email] = OutboxEmail.objects.filter(to=customer.email)
        [link] = email.secrets
        assert link in email.body_text and link.startswith(f"{SITE_URL}/{organisation.slug}/")
        assert hash_token(link.rstrip("/").rsplit("/", 1)[1]) == token.token_hash
        assert token.customer == customer and token.purpose == CustomerToken.Purpose.ACCESS_LINK
        assert AccessEvent.objects.get(token=token).kind == AccessEvent.Kind.ACCESS_LINK_SENT


def test_links_are_sent_only_to_customers_of_the_organisation_named_and_otherwise_none(organisation):
    ours, theirs = CustomerFactory(organisation=organisation), CustomerFactory(organisation=OrganisationFactory())
    with pytest.raises(ValueError):
        send_links(organisation, [ours, theirs])
    assert not CustomerToken.objects.exists() and not OutboxEmail.objects.exists()
    assert not AccessEvent.objects.exists()
