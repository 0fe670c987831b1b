"""policies/demo.py: the demo organisation's terms, privacy and refund policies and its company information, once."""

import io

from django.core.management import call_command
from django.test import Client

from policies.models import CompanyInformation, Policy
from portal_auth.models import Organisation


def test_seed_demo_publishes_three_policies_and_the_company_once(db):
    for _ in range(2):
        call_command("seed_demo", "--slug", "demo", stdout=io.StringIO())

    organisation = Organisation.objects.get(slug="demo")
    policies = Policy.objects.filter(organisation=organisation)
    assert list(policies.values_list("kind", "slug")) == [
        ("terms", "terms"),
        ("privacy", "privacy"),
        ("refunds", "refunds"),
    ]
    assert CompanyInformation.objects.get(organisation=organisation).legal_name == "Voyages Lumière Ltd"
    assert [link["title"] for link in organisation.footer_link_list] == [
        "Terms and conditions",
        "Privacy policy",
        "Refund policy",
        "Company information",
    ]
    refunds = Client().get("/demo/policies/refunds/").content.decode()
    assert "<th>When you cancel</th>" in refunds
    assert 'href="mailto:help@voyages-lumiere.example"' in refunds
    terms = Client().get("/demo/policies/terms/").content.decode()
    assert 'href="../refunds/"' in terms
    assert Client().get("/demo/policies/refunds/").status_code == 200
