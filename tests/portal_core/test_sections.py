"""Sections declared by domain apps, shown through the test-only loyalty app (tests/loyalty_app/).

The loyalty app is installed by tests/settings.py and routed by tests/urls.py; nothing else names it, so
what it shows here (nav, home, known emails, demo data, landing) comes from its AppConfig's declaration alone.
"""

import dataclasses
import io
import re

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from portal_auth.models import AccessEvent, Customer, Organisation
from portal_core.sections import Section, landing_url_name, sections
from tests.factories import CustomerFactory, OrganisationFactory
from tests.loyalty_app.models import Membership


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Portal">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", nav)


def redeclare(monkeypatch, app_label: str, **changes) -> None:
    config = apps.get_app_config(app_label)
    monkeypatch.setattr(config, "section", dataclasses.replace(config.section, **changes))


def test_a_declared_section_joins_the_nav_in_its_order(sign_in, customer):
    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert nav_links(html) == ["Home", "My bookings", "Support", "Conversations", "Billing", "Loyalty", "Profile"]
    assert f'<a href="/{customer.organisation.slug}/loyalty/">Loyalty</a>' in html


def test_a_section_with_nothing_in_the_organisation_leaves_the_nav_without_a_query(
    sign_in, customer, monkeypatch, django_assert_max_num_queries, django_assert_num_queries
):
    client = sign_in(customer)
    path = f"/{customer.organisation.slug}/support/"
    with django_assert_max_num_queries(6) as shown:
        assert "Loyalty" in nav_links(client.get(f"{path}?shown").content.decode())
    redeclare(monkeypatch, "loyalty", is_empty=lambda organisation: organisation.slug == customer.organisation.slug)

    with django_assert_num_queries(len(shown.captured_queries)):
        html = client.get(f"{path}?hidden").content.decode()

    assert "Loyalty" not in nav_links(html)
    assert "Support" in nav_links(html)


def test_the_nav_marks_a_declared_section_current_on_its_pages(sign_in, customer):
    response = sign_in(customer).get(f"/{customer.organisation.slug}/loyalty/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('aria-current="page"') == 1
    assert f'<a href="/{customer.organisation.slug}/loyalty/" aria-current="page">Loyalty</a>' in html


def test_the_order_a_section_declares_places_it_in_the_nav_of_new_portals(sign_in, db, monkeypatch):
    redeclare(monkeypatch, "loyalty", order=1)
    # A portal's sections take the declared order when it is made; staff order them after.
    customer = CustomerFactory(with_password=True)

    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert nav_links(html) == ["Home", "Loyalty", "My bookings", "Support", "Conversations", "Billing", "Profile"]
    assert html.index("Loyalty points") < html.index("Upcoming bookings")


def test_a_declared_sections_panel_shows_only_the_customers_rows_on_the_home(sign_in, customer, other_organisation):
    Membership.objects.create(organisation=customer.organisation, email=customer.email, programme="Voyager Club")
    Membership.objects.create(organisation=customer.organisation, email="someone@example.com", programme="Not mine")
    Membership.objects.create(organisation=other_organisation, email=customer.email, programme="Elsewhere")

    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert 'id="home-loyalty-heading"' in html
    assert "Voyager Club: 0 points" in html
    assert "Not mine" not in html and "Elsewhere" not in html
    assert html.index("All my conversations") < html.index("Loyalty points")


def test_the_home_costs_the_same_queries_with_four_sections_however_full(
    sign_in, customer, django_assert_max_num_queries
):
    client = sign_in(customer)
    # The session, the customer, then one query per section.
    with django_assert_max_num_queries(6) as empty:
        assert client.get(f"/{customer.organisation.slug}/").status_code == 200
    for number in range(10):
        Membership.objects.create(organisation=customer.organisation, email=customer.email, programme=f"Club {number}")
    with django_assert_max_num_queries(6) as full:
        assert client.get(f"/{customer.organisation.slug}/").status_code == 200
    assert len(full.captured_queries) == len(empty.captured_queries)


def test_a_declared_sections_members_may_ask_for_a_password_link(
    client, organisation, other_organisation, mailoutbox, django_capture_on_commit_callbacks
):
    Membership.objects.create(organisation=organisation, email="member@example.com", programme="Voyager Club")

    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(f"/{organisation.slug}/password/", {"email": "Member@Example.com"})
        elsewhere = client.post(f"/{other_organisation.slug}/password/", {"email": "member@example.com"})

    assert known.status_code == elsewhere.status_code == 302
    assert [email.to for email in mailoutbox] == [["member@example.com"]]
    customer = Customer.objects.get(email="member@example.com")
    assert customer.organisation == organisation
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_LINK_SENT, customer=customer).exists()


def test_seed_demo_seeds_every_declared_section(db):
    out = io.StringIO()

    call_command("seed_demo", stdout=out)

    organisation = Organisation.objects.get(slug="demo")
    assert Membership.objects.filter(organisation=organisation, email="alice@example.com").exists()
    output = out.getvalue()
    assert output.index("Bookings") < output.index("Tickets") < output.index("Conversations") < output.index("Loyalty")
    assert "alice@example.com: Voyager Club: 1200 points" in output


def test_sign_on_lands_on_the_first_section_that_offers_itself(db, client, monkeypatch):
    organisation = OrganisationFactory(external_sign_on_enabled=True, external_sign_on_url="https://login.example.com/")
    assert landing_url_name() == "conversations:list"
    redeclare(monkeypatch, "conversations", can_land=False)
    redeclare(monkeypatch, "loyalty", can_land=True)

    response = client.get(f"/{organisation.slug}/sign-in/external/start/")

    assert response.status_code == 302
    assert response["Location"].startswith("https://login.example.com/?return_to=")
    assert f"/{organisation.slug}/loyalty/" in client.session.values()


def test_sign_on_lands_on_the_home_when_no_section_offers_itself(monkeypatch):
    redeclare(monkeypatch, "conversations", can_land=False)

    assert landing_url_name() == "portal_home"


def test_sections_with_one_key_are_refused(monkeypatch):
    redeclare(monkeypatch, "loyalty", key="tickets", list_url_name="tickets:list")

    with pytest.raises(ImproperlyConfigured, match="same key"):
        sections()


@pytest.mark.parametrize(
    ("declaration", "refusal"),
    [
        ({"list_url_name": "loyalty_list"}, "namespace"),
        ({"list_url_name": "tickets:list"}, "namespace"),
        ({"home_template": "loyalty/home_section.html"}, "go together"),
    ],
)
def test_a_section_declared_inconsistently_is_refused(declaration, refusal):
    with pytest.raises(ImproperlyConfigured, match=refusal):
        Section(**{"key": "loyalty", "title": "Loyalty", "list_url_name": "loyalty:list", "order": 40, **declaration})


def test_only_apps_that_declare_a_section_are_sections():
    assert [section.key for section in sections()] == [
        "bookings",
        "tickets",
        "conversations",
        "billing",
        "loyalty",
        "policies",
        "profile",
    ]
    assert not hasattr(apps.get_app_config("outbox"), "section")
