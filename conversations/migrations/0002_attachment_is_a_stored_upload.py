# Attachment now inherits portal_core's StoredUpload. Its table and rows stay: the file path may be
# longer; the rest changes only what Django alone sees.

import django.utils.timezone
from django.db import migrations, models

import portal_core.uploads


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attachment",
            name="file",
            field=models.FileField(max_length=300, upload_to=portal_core.uploads.stored_upload_path),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="size",
            field=models.PositiveBigIntegerField(help_text="In bytes."),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="uploaded at"
            ),
        ),
    ]
