import django.db.models
from django.db import migrations

import portal_auth.doors.registry

# Frozen here: the registry may grow doors that did not exist when this ran.
ALWAYS_OPEN = ["password", "access_link"]


def open_the_doors_each_organisation_had(apps, schema_editor):
    """Password and access links were always open; custom sign-on where it was switched on."""
    Organisation = apps.get_model("portal_auth", "Organisation")
    Organisation.objects.filter(external_sign_on_enabled=True).update(doors=["external_sign_on", *ALWAYS_OPEN])
    Organisation.objects.filter(external_sign_on_enabled=False).update(doors=ALWAYS_OPEN)


def switch_custom_sign_on_back(apps, schema_editor):
    Organisation = apps.get_model("portal_auth", "Organisation")
    for organisation in Organisation.objects.all():
        organisation.external_sign_on_enabled = "external_sign_on" in organisation.doors
        organisation.save(update_fields=["external_sign_on_enabled"])


class Migration(migrations.Migration):
    dependencies = [
        ("portal_auth", "0006_notification_links_sign_in"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="doors",
            field=django.db.models.JSONField(
                blank=True,
                default=portal_auth.doors.registry.default_door_keys,
                help_text="The doors the sign-in page offers; a closed door's pages and links answer “not found”.",
                validators=[portal_auth.doors.registry.validate_door_keys],
                verbose_name="ways to sign in",
            ),
        ),
        migrations.RunPython(open_the_doors_each_organisation_had, switch_custom_sign_on_back),
        migrations.RemoveField(
            model_name="organisation",
            name="external_sign_on_enabled",
        ),
    ]
