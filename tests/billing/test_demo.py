"""billing/demo.py: Alice's invoices, receipt, open tab and membership, once however often it runs."""

import io

from django.core.management import call_command

from billing.models import Invoice, Membership, Payment, Tab
from portal_auth.models import Organisation


def test_seed_demo_bills_alice_once(db):
    for _ in range(2):
        call_command("seed_demo", "--slug", "demo", stdout=io.StringIO())
    organisation = Organisation.objects.get(slug="demo")
    invoices = Invoice.objects.filter(organisation=organisation, customer__email="alice@example.com")
    assert sorted(invoices.values_list("status", flat=True)) == ["open", "paid"]
    assert Payment.objects.filter(invoice__in=invoices).count() == 1
    assert Tab.objects.filter(customer__email="alice@example.com", status="open").count() == 1
    membership = Membership.objects.get(customer__email="alice@example.com")
    assert membership.status == "active" and membership.period_ends_on > membership.started_on
