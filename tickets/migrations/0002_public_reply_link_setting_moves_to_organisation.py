"""The ticket setting "put a portal link in every public reply" becomes the organisation's "links in notification emails sign the
customer in", which every app's emails follow: an organisation that had it on keeps its links signing in."""

from django.db import migrations


def to_organisation(apps, schema_editor):
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    Organisation = apps.get_model("portal_auth", "Organisation")
    chosen = TicketSettings.objects.filter(link_on_public_reply=True).values("organisation_id")
    Organisation.objects.filter(pk__in=chosen).update(notification_links_sign_in=True)


def to_ticket_settings(apps, schema_editor):
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    Organisation = apps.get_model("portal_auth", "Organisation")
    chosen = Organisation.objects.filter(notification_links_sign_in=True).values("pk")
    TicketSettings.objects.filter(organisation_id__in=chosen).update(link_on_public_reply=True)


class Migration(migrations.Migration):
    dependencies = [
        ("portal_auth", "0006_notification_links_sign_in"),
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(to_organisation, to_ticket_settings),
        migrations.RemoveField(model_name="ticketsettings", name="link_on_public_reply"),
    ]
