"""Billing names stored before they were held to the rule on names are rewritten to pass it (billing 0007)."""

import pytest

from portal_core.text import validate_name_characters

BEFORE = [
    ("billing", "0006_invoice_tab_membership_created_once"),
    ("portal_auth", "0023_customer_names_without_hidden_characters"),
]
AFTER = [("billing", "0007_billing_name_without_hidden_characters")]


@pytest.mark.django_db(transaction=True)
def test_billing_names_with_hidden_characters_are_rewritten(migrate):
    apps = migrate(BEFORE)
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    Customer = apps.get_model("portal_auth", "Customer")
    BillingProfile = apps.get_model("billing", "BillingProfile")
    for email, name in [("acme@example.com", "ACME\u202eFDP.exe\r\n"), ("zoe@example.com", "Zoë Łukasz Lda")]:
        customer = Customer.objects.create(organisation=organisation, email=email)
        BillingProfile.objects.create(customer=customer, name=name)

    apps = migrate(AFTER)

    names = dict(apps.get_model("billing", "BillingProfile").objects.values_list("customer__email", "name"))
    assert names == {"acme@example.com": "ACMEFDP.exe", "zoe@example.com": "Zoë Łukasz Lda"}
    for name in names.values():
        validate_name_characters(name)
