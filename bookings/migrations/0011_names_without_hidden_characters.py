# Names stored before the rule (bookings 0009 for attendees) may hold what it refuses; the admin checks every inline
# row it shows, so one untouched attendee would refuse confirming their booking.

from django.db import migrations, models

import portal_core.text
from portal_core.text import name_without_hidden_characters

# Hidden characters and controls are never plain ASCII: the database picks out names that aren't, Python the rest.
NOT_PLAIN_ASCII = r"[^ -~]"
BATCH = 1000


def clean_names(apps, schema_editor):
    alias = schema_editor.connection.alias
    Attendee = apps.get_model("bookings", "Attendee")
    attendees = Attendee.objects.using(alias)
    changed = []
    found = attendees.filter(name__regex=NOT_PLAIN_ASCII).values_list("pk", "name", "email").iterator(BATCH)
    for pk, name, email in found:
        cleaned = name_without_hidden_characters(name)
        if cleaned != name:
            # An attendee must have a name: one made only of hidden characters is called as service_book calls one.
            changed.append(Attendee(pk=pk, name=cleaned or email[:200] or "Attendee"))
    # Written once read: SQLite reads in chunks with no isolation from writes to the same table.
    attendees.bulk_update(changed, ["name"], batch_size=BATCH)

    Booking = apps.get_model("bookings", "Booking")
    bookings = Booking.objects.using(alias)
    changed = []
    found = bookings.filter(main_contact_name__regex=NOT_PLAIN_ASCII).values_list("pk", "main_contact_name")
    for pk, name in found.iterator(BATCH):
        cleaned = name_without_hidden_characters(name)
        if cleaned != name:
            changed.append(Booking(pk=pk, main_contact_name=cleaned))
    bookings.bulk_update(changed, ["main_contact_name"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0010_opening_hours_past_midnight"),
    ]

    operations = [
        migrations.RunPython(clean_names, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="main_contact_name",
            field=models.CharField(blank=True, max_length=200, validators=[portal_core.text.validate_name_characters]),
        ),
    ]
