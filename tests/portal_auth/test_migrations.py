"""Doors became data: every organisation keeps exactly the ways in it had."""

import pytest

BEFORE = [("portal_auth", "0006_notification_links_sign_in")]
AFTER = [("portal_auth", "0007_organisation_doors")]


@pytest.mark.django_db(transaction=True)
def test_organisations_keep_passwords_and_links_and_custom_sign_on_where_it_was_on(migrate):
    apps = migrate(BEFORE)
    Organisation = apps.get_model("portal_auth", "Organisation")
    Organisation.objects.create(name="On", slug="on", external_sign_on_enabled=True, external_sign_on_secret="s")
    Organisation.objects.create(name="Off", slug="off")

    apps = migrate(AFTER)
    doors = dict(apps.get_model("portal_auth", "Organisation").objects.values_list("slug", "doors"))
    assert doors == {"on": ["external_sign_on", "password", "access_link"], "off": ["password", "access_link"]}

    apps = migrate(BEFORE)  # and back, for a rollback
    enabled = apps.get_model("portal_auth", "Organisation").objects.filter(external_sign_on_enabled=True)
    assert list(enabled.values_list("slug", flat=True)) == ["on"]
