"""Links in notification emails: one door for any page of the portal, a link that signs in once, and the
organisation's setting that decides whether they sign in at all."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from portal_auth.doors.access_link.services import access_links_revoke, notification_link_make
from portal_auth.models import AccessEvent, CustomerToken
from portal_auth.sessions import SESSION_CUSTOMER
from tests.conftest import link_in
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
    first.post(f"/{slug}/link/open/")

    client = Client()
    client.get(link.url.removeprefix(SITE_URL))
    refused = client.post(f"/{slug}/link/open/")
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
    assert client.post(f"/{slug}/link/open/")["Location"] == f"/{slug}/"
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
    assert client.post(f"/{signing_organisation.slug}/link/open/")["Location"].endswith("/link/new/")
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
            landed.append(client.post(f"/{organisation.slug}/link/open/")["Location"])
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
