"""policies/services.py: every portal page's footer links to each policy, costs no query, and follows every edit."""

import re
import threading

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from policies.models import CompanyInformation, Policy
from portal_auth.models import Organisation
from tests.factories import OrganisationFactory
from tests.policies.factories import CompanyInformationFactory, PolicyFactory

VISITOR_PAGES = ["sign-in/", "password/", "link/new/", "policies/"]
CUSTOMER_PAGES = ["", "bookings/", "support/", "conversations/", "billing/", "loyalty/", "policies/"]


def footer_links(html: str) -> list[tuple[str, str]]:
    footer = re.search(r'<footer class="site-footer">(.*?)</footer>', html, re.S).group(1)
    nav = re.search(r'<nav aria-label="Policies and company information">(.*?)</nav>', footer, re.S)
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav.group(1)) if nav else []


def organisation_reads(queries) -> int:
    """Queries reading the organisations table, alone or joined: a page has its organisation with its portal (and
    its customer, when signed in), the footer's links with it."""
    return sum('"portal_auth_organisation"."footer_links"' in query["sql"] for query in queries)


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Portal">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", nav)


def publish(organisation: Organisation) -> None:
    PolicyFactory(organisation=organisation, title="Refund policy", slug="refunds", kind="refunds", order=2)
    PolicyFactory(organisation=organisation, title="Terms and conditions", slug="terms", kind="terms", order=1)
    CompanyInformationFactory(organisation=organisation)


def expected(organisation: Organisation) -> list[tuple[str, str]]:
    return [
        (f"/{organisation.slug}/policies/terms/", "Terms and conditions"),
        (f"/{organisation.slug}/policies/refunds/", "Refund policy"),
        (f"/{organisation.slug}/policies/#company", "Company information"),
    ]


@pytest.mark.parametrize("path", VISITOR_PAGES)
def test_a_visitors_pages_link_to_each_policy_at_no_extra_query(
    client, organisation, path, django_assert_max_num_queries, django_assert_num_queries
):
    url = f"/{organisation.slug}/{path}"
    with django_assert_max_num_queries(6) as without:
        html = client.get(f"{url}?before").content.decode()
    assert footer_links(html) == []

    publish(organisation)

    with django_assert_num_queries(len(without.captured_queries)) as with_policies:
        response = client.get(f"{url}?after")
    assert response.status_code == 200
    assert footer_links(response.content.decode()) == expected(organisation)
    assert organisation_reads(with_policies.captured_queries) == 1  # by its slug, the footer with it


@pytest.mark.parametrize("path", CUSTOMER_PAGES)
def test_a_customers_pages_link_to_each_policy_at_no_extra_query(
    sign_in, customer, organisation, path, django_assert_max_num_queries, django_assert_num_queries
):
    client = sign_in(customer)
    url = f"/{organisation.slug}/{path}"
    client.get(f"{url}?warm")
    with django_assert_max_num_queries(6) as without:
        html = client.get(f"{url}?before").content.decode()
    assert footer_links(html) == []

    publish(organisation)

    with django_assert_num_queries(len(without.captured_queries)) as with_policies:
        response = client.get(f"{url}?after")
    assert response.status_code == 200
    assert footer_links(response.content.decode()) == expected(organisation)
    assert organisation_reads(with_policies.captured_queries) == 1  # with the customer and the portal


def test_the_footer_lists_an_organisations_own_policies_only(client, organisation, other_organisation):
    publish(other_organisation)
    PolicyFactory(organisation=organisation, title="House rules", slug="house-rules")

    html = client.get(f"/{organisation.slug}/sign-in/").content.decode()

    assert footer_links(html) == [(f"/{organisation.slug}/policies/house-rules/", "House rules")]


def test_an_edit_makes_a_cached_pages_footer_fresh(sign_in, customer, organisation):
    policy = PolicyFactory(organisation=organisation, title="Terms", slug="terms")
    client = sign_in(customer)
    client.get(f"/{organisation.slug}/support/")
    kept = client.get(f"/{organisation.slug}/support/")
    assert kept.context is None  # served from the page cache
    assert footer_links(kept.content.decode()) == [(f"/{organisation.slug}/policies/terms/", "Terms")]

    policy.title = "Terms of carriage"
    policy.slug = "carriage"
    policy.save()
    html = client.get(f"/{organisation.slug}/support/").content.decode()
    assert footer_links(html) == [(f"/{organisation.slug}/policies/carriage/", "Terms of carriage")]

    added = PolicyFactory(organisation=organisation, title="Privacy policy", slug="privacy", order=1)
    html = client.get(f"/{organisation.slug}/support/").content.decode()
    assert [title for _, title in footer_links(html)] == ["Terms of carriage", "Privacy policy"]

    policy.delete()
    added.delete()
    html = client.get(f"/{organisation.slug}/support/").content.decode()
    assert footer_links(html) == []


def test_company_information_added_or_removed_shows_in_the_footer(client, organisation):
    company = CompanyInformationFactory(organisation=organisation)
    html = client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert footer_links(html) == [(f"/{organisation.slug}/policies/#company", "Company information")]

    company.delete()
    html = client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert footer_links(html) == []


def test_the_footer_follows_a_portal_given_a_new_address(client, organisation):
    publish(organisation)
    organisation.portals.update(slug="renamed")

    html = client.get("/renamed/sign-in/").content.decode()

    assert footer_links(html)[0] == ("/renamed/policies/terms/", "Terms and conditions")
    assert Client().get("/renamed/policies/terms/").status_code == 200


def test_the_footer_keeps_what_other_apps_put_there(organisation):
    Organisation.objects.filter(pk=organisation.pk).update(
        footer_links={"accessibility": [{"title": "Accessibility", "path": "accessibility/"}]}
    )

    PolicyFactory(organisation=organisation, title="Terms", slug="terms")

    organisation.refresh_from_db()
    assert organisation.footer_links == {
        "accessibility": [{"title": "Accessibility", "path": "accessibility/"}],
        "policies": [{"title": "Terms", "path": "policies/terms/"}],
    }
    assert [link["title"] for link in organisation.footer_link_list] == ["Accessibility", "Terms"]


def test_deleting_an_organisation_takes_its_policies_with_it(organisation):
    publish(organisation)

    organisation.delete()

    assert not Policy.objects.exists() and not CompanyInformation.objects.exists()


def test_the_nav_offers_policies_only_where_there_are_some(sign_in, customer, organisation):
    client = sign_in(customer)
    assert "Policies" not in nav_links(client.get(f"/{organisation.slug}/support/").content.decode())

    policy = PolicyFactory(organisation=organisation, slug="terms")
    html = client.get(f"/{organisation.slug}/support/").content.decode()
    assert "Policies" in nav_links(html)
    html = client.get(f"/{organisation.slug}/policies/terms/").content.decode()
    assert f'<a href="/{organisation.slug}/policies/" aria-current="page">Policies</a>' in html

    policy.delete()
    assert "Policies" not in nav_links(client.get(f"/{organisation.slug}/support/").content.decode())


def test_a_policy_of_another_organisation_leaves_this_ones_footer_alone(organisation):
    other = OrganisationFactory()
    PolicyFactory(organisation=other, slug="terms")

    organisation.refresh_from_db()
    assert organisation.footer_links == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_two_policies_saved_at_once_are_both_in_the_footer():
    organisation = OrganisationFactory()
    first_saved, first_may_commit = threading.Event(), threading.Event()
    errors = []

    def save(slug: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                PolicyFactory(organisation=organisation, slug=slug, title=slug)
                if hold:  # the organisation stays locked, the first footer written but not committed
                    first_saved.set()
                    first_may_commit.wait(10)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=save, args=("first", True))
    first.start()
    first_saved.wait(10)
    second = threading.Thread(target=save, args=("second", False))
    second.start()
    with connection.cursor() as cursor:  # until the second save waits for the organisation's lock
        for _ in range(10_000):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
    first_may_commit.set()
    first.join()
    second.join()

    assert errors == []
    organisation.refresh_from_db()
    assert [link["title"] for link in organisation.footer_link_list] == ["first", "second"]
