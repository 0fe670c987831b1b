# The billing name becomes every invoice's Bill-to: held to the rule customers' names are (portal_auth 0022), and
# those stored before it rewritten so that the admin can save their profiles again.

from django.db import migrations, models

import portal_core.text
from portal_core.text import name_without_hidden_characters

# Hidden characters and controls are never plain ASCII: the database picks out names that aren't, Python the rest.
NOT_PLAIN_ASCII = r"[^ -~]"
BATCH = 1000


def clean_billing_names(apps, schema_editor):
    BillingProfile = apps.get_model("billing", "BillingProfile")
    profiles = BillingProfile.objects.using(schema_editor.connection.alias)
    changed = []
    for pk, name in profiles.filter(name__regex=NOT_PLAIN_ASCII).values_list("pk", "name").iterator(BATCH):
        cleaned = name_without_hidden_characters(name)
        if cleaned != name:
            changed.append(BillingProfile(pk=pk, name=cleaned))
    # Written once read: SQLite reads in chunks with no isolation from writes to the same table.
    profiles.bulk_update(changed, ["name"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_invoice_tab_membership_created_once"),
    ]

    operations = [
        migrations.RunPython(clean_billing_names, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="billingprofile",
            name="name",
            field=models.CharField(
                blank=True,
                help_text="The customer's name if empty.",
                max_length=200,
                validators=[portal_core.text.validate_name_characters],
                verbose_name="billing name",
            ),
        ),
    ]
