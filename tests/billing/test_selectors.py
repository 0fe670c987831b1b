import datetime
from decimal import Decimal

from billing.selectors import issued_invoices_for, organisation_bills_email
from billing.services import (
    LineInput,
    invoice_draft_create,
    membership_start,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
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


def test_an_email_is_known_to_billing_while_its_tab_is_open(organisation, billing_settings):
    guest = CustomerFactory(organisation=organisation, email="dee@example.com")
    tab = tab_open(customer=guest, title="Stay, room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal(4)))

    assert organisation_bills_email(organisation, "dee@example.com")
    tab_close(tab=tab)
    assert organisation_bills_email(organisation, "dee@example.com")  # by the tab's invoice now


def test_open_invoices_come_first_soonest_due_then_the_rest_newest_first(issue, customer):
    issued = {}
    for day in ("2024-01-01", "2024-06-01", "2025-01-01", "2025-03-01"):
        issued[day] = issue(today=datetime.date.fromisoformat(day))
    for day in ("2024-01-01", "2024-06-01", "2025-01-01"):
        invoice = issued[day]
        payment_record(invoice=invoice, amount=invoice.total, paid_on=invoice.issued_on, method="cash")

    listed = [invoice.issued_on.isoformat() for invoice in issued_invoices_for(customer)]

    assert listed == ["2025-03-01", "2025-01-01", "2024-06-01", "2024-01-01"]
