# The admin lists every ticket newest activity first: without an index in that order each page sorted the whole
# table (the other indexes on updated_at lead with the requester or the company).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_sent_once"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["-updated_at", "-id"], name="ticket_staff_list"),
        ),
    ]
