"""The Policies page and each policy: public, the organisation's own only, few queries, fresh after every edit."""

import re

import pytest
from django.test import Client

from portal_core import page_cache
from tests.factories import CustomerFactory
from tests.policies.factories import PolicyFactory


def page(client, organisation, path=""):
    response = client.get(f"/{organisation.slug}/policies/{path}")
    return response, response.content.decode()


def main(html: str) -> str:
    return re.search(r'<main id="main".*?</main>', html, re.S).group(0)


@pytest.fixture(params=["visitor", "customer"])
def reader(request, sign_in, customer):
    """A visitor deciding whether to book, and a signed-in customer: both may read every policy."""
    return Client() if request.param == "visitor" else sign_in(customer)


def test_the_policies_page_lists_every_policy_in_order_and_the_company_information(
    reader, organisation, make_policy, company
):
    make_policy(title="Refund policy", slug="refunds", kind="refunds", order=2)
    make_policy(title="Terms and conditions", slug="terms", kind="terms", order=1)
    make_policy(title="Cookies", slug="cookies", order=3)

    response, html = page(reader, organisation)

    assert response.status_code == 200
    listed = re.findall(r'<a href="/[\w-]+/policies/([\w-]+)/">([^<]+)</a>', main(html))
    assert listed == [("terms", "Terms and conditions"), ("refunds", "Refund policy"), ("cookies", "Cookies")]
    company_html = re.search(r'<section class="card" id="company".*?</section>', html, re.S).group(0)
    for shown in (
        "Voyages Lumière SAS",
        "12 quai de la Fosse<br>44000 Nantes<br>France",
        "RCS Nantes 812 345 678",
        "FR 12 812345678",
        '<a href="mailto:legal@voyages.example">legal@voyages.example</a>',
        '<a href="tel:+33 2 40 00 00 00">+33 2 40 00 00 00</a>',
    ):
        assert shown in company_html


def test_an_organisation_with_neither_says_so(reader, organisation):
    response, html = page(reader, organisation)

    assert response.status_code == 200
    assert "has published no policies yet" in html
    assert 'id="company"' not in html


def test_company_information_alone_is_shown_without_an_empty_list(reader, organisation, company):
    _, html = page(reader, organisation)

    assert 'id="company"' in html
    assert "no policies yet" not in html


def test_a_policy_shows_its_rendered_body_under_its_title(reader, organisation, make_policy):
    make_policy(title="Refund policy", slug="refunds", body="# Cancelling\n\nYou get **everything** back.")

    response, html = page(reader, organisation, "refunds/")

    assert response.status_code == 200
    assert "<title>Refund policy · " in html
    assert '<h1 id="policy-title">Refund policy</h1>' in html
    assert "<h2>Cancelling</h2>\n<p>You get <strong>everything</strong> back.</p>" in html
    assert f'<a href="/{organisation.slug}/policies/">← Policies</a>' in html


def test_a_policy_full_of_script_is_harmless_on_its_page(reader, organisation, make_policy):
    make_policy(
        slug="evil",
        body='<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n[a](javascript:alert(1)) '
        "<javascript:alert(2)> [b](data:text/html,<script>alert(3)</script>)",
    )

    _, html = page(reader, organisation, "evil/")

    body = re.search(r'<div class="card prose">(.*?)</div>', html, re.S).group(1)
    assert "<script" not in body and "<img" not in body and "href" not in body
    assert "&lt;script&gt;" in body  # shown as the text it was typed as
    assert html.count("<script") == 1  # the page's own, with a source of its own and no inline code
    assert 'src="/static/portal/notices.js"' in html


def test_another_organisations_policy_is_not_found(reader, organisation, other_organisation, make_policy):
    PolicyFactory(organisation=other_organisation, slug="secret-terms", title="Their terms")

    response, html = page(reader, organisation, "secret-terms/")

    assert response.status_code == 404
    assert "Their terms" not in html


def test_a_policy_that_does_not_exist_is_not_found(reader, organisation):
    assert page(reader, organisation, "nothing-here/")[0].status_code == 404


def test_an_organisation_that_does_not_exist_is_not_found(client, db):
    assert client.get("/nobody/policies/").status_code == 404


@pytest.mark.parametrize("path", ["", "terms/"])
def test_each_page_takes_the_same_few_queries_however_many_policies(
    reader, organisation, make_policy, company, path, django_assert_max_num_queries
):
    make_policy(slug="terms")
    with django_assert_max_num_queries(6) as few:
        assert page(reader, organisation, f"{path}?first")[0].status_code == 200
    for _ in range(10):
        make_policy()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert page(reader, organisation, f"{path}?then")[0].status_code == 200


def test_the_policies_page_reads_titles_not_bodies(reader, organisation, make_policy, django_assert_max_num_queries):
    make_policy(title="Terms and conditions", slug="terms", body="Long. " * 100_000)

    with django_assert_max_num_queries(6) as few:
        response, html = page(reader, organisation)

    assert response.status_code == 200 and "Terms and conditions" in main(html)
    listing = [query["sql"] for query in few.captured_queries if 'FROM "policies_policy"' in query["sql"]]
    assert len(listing) == 1
    assert '"body"' not in listing[0] and '"body_html"' not in listing[0]


def test_a_customers_repeat_view_comes_from_the_page_cache_and_an_edit_makes_it_fresh(
    sign_in, customer, organisation, make_policy
):
    policy = make_policy(title="Refund policy", slug="refunds", body="Within 14 days.")
    client = sign_in(customer)
    page(client, organisation, "refunds/")

    repeat, html = page(client, organisation, "refunds/")
    assert repeat.context is None  # not rendered: kept
    assert "Within 14 days." in html

    policy.body = "Within 30 days."
    policy.save()

    fresh, html = page(client, organisation, "refunds/")
    assert fresh.context is not None
    assert "Within 30 days." in html


def test_a_visitors_page_is_never_kept(client, organisation, make_policy, monkeypatch):
    make_policy(slug="terms")
    stored = []
    monkeypatch.setattr(page_cache, "page_store", lambda *args: stored.append(args))

    assert page(client, organisation, "terms/")[0].status_code == 200
    assert stored == []


def test_a_customer_of_another_organisation_reads_it_as_a_visitor(
    sign_in, other_organisation, organisation, make_policy
):
    make_policy(title="Terms", slug="terms")
    client = sign_in(CustomerFactory(organisation=other_organisation))

    response, html = page(client, organisation, "terms/")

    assert response.status_code == 200
    assert '<nav aria-label="Portal">' not in html  # not signed in here: no nav, no account named
