"""Staff write policies in the admin: the usual kinds fill in their titles and addresses, the preview shows what
customers will see, and the stored HTML is never typed by hand."""

import re

import pytest

from policies.models import CompanyInformation, Policy
from tests.policies.factories import PolicyFactory


def add(admin_client, organisation, **fields):
    data = {"organisation": organisation.pk, "kind": "other", "title": "", "slug": "", "order": "0", "body": "Text"}
    return admin_client.post("/admin/policies/policy/add/", {**data, **fields})


def errors(response) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S))


@pytest.mark.parametrize(
    ("kind", "title", "slug"),
    [
        ("terms", "Terms and conditions", "terms"),
        ("privacy", "Privacy policy", "privacy"),
        ("refunds", "Refund policy", "refunds"),
    ],
)
def test_a_usual_kind_left_untitled_takes_its_usual_title_and_address(admin_client, organisation, kind, title, slug):
    response = add(admin_client, organisation, kind=kind, body="## Data we keep\n\nYour *name*.")

    assert response.status_code == 302, errors(response)
    policy = Policy.objects.get()
    assert (policy.organisation, policy.kind, policy.title, policy.slug) == (organisation, kind, title, slug)
    assert policy.body_html == "<h2>Data we keep</h2>\n<p>Your <em>name</em>.</p>\n"


def test_another_page_takes_its_address_from_its_title(admin_client, organisation):
    response = add(admin_client, organisation, title="Cookies & tracking")

    assert response.status_code == 302, errors(response)
    assert Policy.objects.get().slug == "cookies-tracking"


def test_another_page_needs_a_title(admin_client, organisation):
    response = add(admin_client, organisation)

    assert response.status_code == 200
    assert "Give the page a title." in errors(response)
    assert not Policy.objects.exists()


def test_a_text_nested_too_deep_to_be_shown_whole_is_refused(admin_client, organisation):
    body = "".join("  " * level + f"- item{level}\n" for level in range(60))

    response = add(admin_client, organisation, title="Deep", body=body)

    assert response.status_code == 200
    assert "sit too deep in one another for the page to show them whole" in errors(response)
    assert not Policy.objects.exists()


def test_a_second_page_of_a_usual_kind_is_refused(admin_client, organisation):
    PolicyFactory(organisation=organisation, kind="privacy", slug="privacy")

    response = add(admin_client, organisation, kind="privacy", slug="privacy-2")

    assert response.status_code == 200
    assert "has a page of this kind already" in errors(response)
    assert Policy.objects.count() == 1


def test_the_same_address_twice_in_one_organisation_is_refused_but_fine_in_another(
    admin_client, organisation, other_organisation
):
    PolicyFactory(organisation=organisation, slug="terms")

    refused = add(admin_client, organisation, title="More terms", slug="terms")
    accepted = add(admin_client, other_organisation, title="Terms", slug="terms")

    assert "has a page at this address already" in errors(refused)
    assert accepted.status_code == 302


def test_a_saved_page_stays_in_its_organisation_and_its_address_stays_unique_there(
    admin_client, organisation, other_organisation
):
    PolicyFactory(organisation=organisation, slug="terms")
    policy = PolicyFactory(organisation=organisation, slug="privacy", title="Privacy")
    url = f"/admin/policies/policy/{policy.pk}/change/"
    data = {"organisation": other_organisation.pk, "kind": "other", "title": "Privacy", "order": "0", "body": "New"}

    refused = admin_client.post(url, {**data, "slug": "terms"})
    saved = admin_client.post(url, {**data, "slug": "privacy-notice"})

    assert "has a page at this address already" in errors(refused)
    assert saved.status_code == 302, errors(saved)
    policy.refresh_from_db()
    assert (policy.organisation, policy.slug, policy.body_html) == (organisation, "privacy-notice", "<p>New</p>\n")


def test_the_stored_html_cannot_be_typed(admin_client, organisation):
    response = add(admin_client, organisation, title="Terms", body="Plain", body_html="<script>alert(1)</script>")

    assert response.status_code == 302
    assert Policy.objects.get().body_html == "<p>Plain</p>\n"
    assert "body_html" not in admin_client.get("/admin/policies/policy/add/").content.decode()


def test_the_change_page_previews_the_page_as_customers_see_it(admin_client, organisation):
    policy = PolicyFactory(organisation=organisation, body="**Bold** <script>alert(1)</script>")

    html = admin_client.get(f"/admin/policies/policy/{policy.pk}/change/").content.decode()

    assert (
        '<div class="policy-preview"><p><strong>Bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n</div>' in html
    )
    assert "Shown once the page is saved." in admin_client.get("/admin/policies/policy/add/").content.decode()


def test_staff_add_company_information(admin_client, organisation):
    response = admin_client.post(
        "/admin/policies/companyinformation/add/",
        {
            "organisation": organisation.pk,
            "legal_name": "Voyages Lumière SAS",
            "registered_address": "12 quai de la Fosse\nNantes",
            "company_number": "812 345 678",
            "vat_number": "FR 12 812345678",
            "contact_email": "legal@voyages.example",
            "contact_phone": "+33 2 40 00 00 00",
        },
    )

    assert response.status_code == 302, errors(response)
    assert CompanyInformation.objects.get(organisation=organisation).vat_number == "FR 12 812345678"
    organisation.refresh_from_db()
    assert organisation.footer_links["policies"] == [{"title": "Company information", "path": "policies/#company"}]


def test_company_information_stays_with_its_organisation(admin_client, organisation, other_organisation):
    CompanyInformation.objects.create(organisation=organisation, legal_name="Voyages Lumière SAS")
    CompanyInformation.objects.create(organisation=other_organisation, legal_name="Reisen GmbH", vat_number="DE 1")
    url = f"/admin/policies/companyinformation/{organisation.pk}/change/"

    response = admin_client.post(url, {"organisation": other_organisation.pk, "legal_name": "Voyages SAS"})

    assert response.status_code == 302, errors(response)
    assert dict(CompanyInformation.objects.values_list("organisation", "legal_name")) == {
        organisation.pk: "Voyages SAS",
        other_organisation.pk: "Reisen GmbH",
    }
    assert CompanyInformation.objects.get(organisation=other_organisation).vat_number == "DE 1"
    assert 'name="organisation"' not in admin_client.get(url).content.decode()
