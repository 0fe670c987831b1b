from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_addresses_differing_only_in_case(apps, schema_editor):
    # The constraint would fail with the database's bare error: name the portals for staff to rename first.
    Portal = apps.get_model("portal_auth", "Portal")
    clashes = (
        Portal.objects.using(schema_editor.connection.alias)
        .values(address=Lower("slug"))
        .annotate(portals=Count("pk"))
        .filter(portals__gt=1)
        .order_by("address")
    )
    if clashes:
        portals = Portal.objects.using(schema_editor.connection.alias).order_by("pk")
        addresses = ", ".join(
            " and ".join(
                f"/{slug}/" for slug in portals.filter(slug__iexact=clash["address"]).values_list("slug", flat=True)
            )
            for clash in clashes
        )
        raise RuntimeError(
            f"Portals have addresses that differ only in case: {addresses}. "
            "Give each but one another address in the admin, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("portal_auth", "0020_help_text_without_angle_brackets"),
    ]

    operations = [
        migrations.RunPython(refuse_addresses_differing_only_in_case, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="portal",
            constraint=models.UniqueConstraint(
                Lower("slug"),
                name="portal_slug_unique_in_any_case",
                violation_error_message="A portal already has this address, in capitals or not; choose another.",
            ),
        ),
    ]
