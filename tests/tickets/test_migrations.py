"""The ticket setting "put a portal link in every public reply" moved to the organisation, every app's emails now
following it: an organisation that had it on keeps links that sign in."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("portal_auth", "0005_rate_limit_counters"), ("tickets", "0001_initial")]
AFTER = [
    ("portal_auth", "0006_notification_links_sign_in"),
    ("tickets", "0002_public_reply_link_setting_moves_to_organisation"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_organisations_that_linked_every_public_reply_keep_links_that_sign_in():
    apps = migrate(BEFORE)
    Organisation = apps.get_model("portal_auth", "Organisation")
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    for slug, linked in (("linked", True), ("unlinked", False)):
        TicketSettings.objects.create(
            organisation=Organisation.objects.create(name=slug, slug=slug), link_on_public_reply=linked
        )
    Organisation.objects.create(name="none", slug="no-ticket-settings")

    try:
        apps = migrate(AFTER)
        signing = apps.get_model("portal_auth", "Organisation").objects.filter(notification_links_sign_in=True)
        assert list(signing.values_list("slug", flat=True)) == ["linked"]

        apps = migrate(BEFORE)  # and back, for a rollback
        kept = apps.get_model("tickets", "TicketSettings").objects.filter(link_on_public_reply=True)
        assert list(kept.values_list("organisation__slug", flat=True)) == ["linked"]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
