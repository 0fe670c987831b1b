"""The billing app's migrations, where they change rows that exist."""

import datetime

import pytest


@pytest.mark.django_db(transaction=True)
def test_drafts_tabs_and_memberships_made_before_add_pages_were_sent_once_hold_no_token(migrate):
    # portal_auth named too, so that its models are as its tables are, not as billing's first migration found them.
    apps = migrate(
        [("billing", "0005_bill_to_name_holds_an_email"), ("portal_auth", "0021_portal_slug_unique_in_any_case")]
    )
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    customer = apps.get_model("portal_auth", "Customer").objects.create(organisation=organisation, email="a@b.com")
    plan = apps.get_model("billing", "Plan").objects.create(organisation=organisation, name="Club", price=30)
    made = {"organisation": organisation, "customer": customer}
    for title in ("Seats", "Visa"):
        apps.get_model("billing", "Invoice").objects.create(**made, booking_reference=title)
        apps.get_model("billing", "Tab").objects.create(**made, title=title)
        apps.get_model("billing", "Membership").objects.create(
            **made, plan=plan, started_on=datetime.date(2027, 1, 1), period_ends_on=datetime.date(2027, 2, 1)
        )

    apps = migrate([("billing", "0006_invoice_tab_membership_created_once")])

    for model in ("Invoice", "Tab", "Membership"):
        assert list(apps.get_model("billing", model).objects.values_list("request_token", flat=True)) == ["", ""]
