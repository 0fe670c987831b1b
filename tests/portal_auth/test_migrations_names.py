"""Customers' names stored before the rule on names are rewritten to pass it (portal_auth 0023)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal_core.text import validate_name_characters

BEFORE = [("portal_auth", "0022_customer_name_characters")]
AFTER = [("portal_auth", "0023_customer_names_without_hidden_characters")]
NAMES = {
    "rlo@example.com": ("Alice\u202egnp.exe", "Alicegnp.exe"),
    "lines@example.com": ("Alice\nBcc: x", "Alice Bcc: x"),
    "persian@example.com": ("Mohammad\u200c\u202eReza", "Mohammad\u200cReza"),
    "plain@example.com": ("Ana Sousa", "Ana Sousa"),
    "accents@example.com": ("Zoë Łukasz", "Zoë Łukasz"),
    "emoji@example.com": ("Chef \U0001f468\u200d\U0001f373", "Chef \U0001f468\u200d\U0001f373"),
    "empty@example.com": ("", ""),
}


@pytest.mark.django_db(transaction=True)
def test_customers_names_with_hidden_characters_are_rewritten_and_only_theirs(migrate):
    apps = migrate(BEFORE)
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    Customer = apps.get_model("portal_auth", "Customer")
    for email, (name, _) in NAMES.items():
        Customer.objects.create(organisation=organisation, email=email, name=name)

    with CaptureQueriesContext(connection) as queries:
        apps = migrate(AFTER)

    names = dict(apps.get_model("portal_auth", "Customer").objects.values_list("email", "name"))
    assert names == {email: cleaned for email, (_, cleaned) in NAMES.items()}
    for name in names.values():
        validate_name_characters(name)
    # One write, of the three names that needed it.
    updates = [query["sql"] for query in queries if query["sql"].startswith('UPDATE "portal_auth_customer"')]
    assert len(updates) == 1 and updates[0].count(" WHEN ") == 3
