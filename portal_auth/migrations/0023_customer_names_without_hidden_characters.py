# Names stored before portal_auth 0022 may hold what its rule refuses; the admin checks every field it shows, so such
# a name would refuse any save of its customer (deactivating them, too) and be copied into each new booking.

from django.db import migrations

from portal_core.text import name_without_hidden_characters

# Hidden characters and controls are never plain ASCII: the database picks out names that aren't, Python the rest.
NOT_PLAIN_ASCII = r"[^ -~]"
BATCH = 1000


def clean_customer_names(apps, schema_editor):
    Customer = apps.get_model("portal_auth", "Customer")
    customers = Customer.objects.using(schema_editor.connection.alias)
    changed = []
    for pk, name in customers.filter(name__regex=NOT_PLAIN_ASCII).values_list("pk", "name").iterator(BATCH):
        cleaned = name_without_hidden_characters(name)
        if cleaned != name:
            changed.append(Customer(pk=pk, name=cleaned))
    # Written once read: SQLite reads in chunks with no isolation from writes to the same table.
    customers.bulk_update(changed, ["name"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("portal_auth", "0022_customer_name_characters"),
    ]

    operations = [
        migrations.RunPython(clean_customer_names, migrations.RunPython.noop),
    ]
