# BookingDocument now inherits portal_core's StoredUpload. Its table and rows stay: one column is renamed,
# the others only widen (longer names and types, sizes past 4 GB) or change what Django alone sees.

import django.utils.timezone
from django.db import migrations, models

import portal_core.uploads


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0003_add_on_cancellation"),
    ]

    operations = [
        migrations.RenameField(model_name="bookingdocument", old_name="uploaded_at", new_name="created_at"),
        migrations.AlterModelOptions(
            name="bookingdocument",
            options={"ordering": ["-created_at", "-pk"], "verbose_name": "booking document"},
        ),
        migrations.AlterField(
            model_name="bookingdocument",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="uploaded at"
            ),
        ),
        migrations.AlterField(
            model_name="bookingdocument",
            name="file",
            field=models.FileField(max_length=300, upload_to=portal_core.uploads.stored_upload_path),
        ),
        migrations.AlterField(
            model_name="bookingdocument",
            name="original_name",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="bookingdocument",
            name="content_type",
            field=models.CharField(max_length=120, verbose_name="detected type"),
        ),
        migrations.AlterField(
            model_name="bookingdocument",
            name="size",
            field=models.PositiveBigIntegerField(help_text="In bytes."),
        ),
    ]
