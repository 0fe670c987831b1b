"""Invoices issued before the address they were sent to was kept take their customer's (billing 0008)."""

import pytest

BEFORE = [("billing", "0007_billing_name_without_hidden_characters")]
AFTER = [("billing", "0008_invoice_bill_to_email")]


@pytest.mark.django_db(transaction=True)
def test_issued_invoices_take_their_customers_address_and_drafts_none(migrate):
    apps = migrate(BEFORE)
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    customer = apps.get_model("portal_auth", "Customer").objects.create(
        organisation=organisation, email="a@example.com"
    )
    Invoice = apps.get_model("billing", "Invoice")
    issued = Invoice.objects.create(
        organisation=organisation, customer=customer, status="open", number=1, issued_on="2026-03-01"
    )
    draft = Invoice.objects.create(organisation=organisation, customer=customer)

    apps = migrate(AFTER)

    emails = dict(apps.get_model("billing", "Invoice").objects.values_list("pk", "bill_to_email"))
    assert emails == {issued.pk: "a@example.com", draft.pk: ""}
    migrate(BEFORE)  # and back
