from decimal import Decimal

from billing.selectors import organisation_bills_email
from billing.services import LineInput, invoice_draft_create, membership_start
from tests.factories import CustomerFactory


def test_an_email_is_known_to_billing_once_invoiced_or_a_member(organisation, other_organisation, issue, make_plan):
    invoiced = CustomerFactory(organisation=organisation, email="ana@example.com")
    member = CustomerFactory(organisation=organisation, email="bo@example.com")
    drafted = CustomerFactory(organisation=organisation, email="cy@example.com")
    issue(to=invoiced)
    membership_start(customer=member, plan=make_plan(), started_on=member.created_at.date())
    invoice_draft_create(customer=drafted, lines=[LineInput("Not issued", Decimal(1))])

    assert organisation_bills_email(organisation, "Ana@Example.com")
    assert organisation_bills_email(organisation, "bo@example.com")
    assert not organisation_bills_email(organisation, "cy@example.com")  # a draft is not seen by the customer
    assert not organisation_bills_email(other_organisation, "ana@example.com")
