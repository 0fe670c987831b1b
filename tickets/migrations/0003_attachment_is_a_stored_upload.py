# TicketAttachment now inherits portal_core's StoredUpload. Its table and rows stay: `name` is renamed
# `original_name`, the other columns only widen or change what Django alone sees.

import django.utils.timezone
from django.db import migrations, models

import portal_core.uploads


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_public_reply_link_setting_moves_to_organisation"),
    ]

    operations = [
        migrations.RenameField(model_name="ticketattachment", old_name="name", new_name="original_name"),
        migrations.AlterField(
            model_name="ticketattachment",
            name="original_name",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="ticketattachment",
            name="file",
            field=models.FileField(max_length=300, upload_to=portal_core.uploads.stored_upload_path),
        ),
        migrations.AlterField(
            model_name="ticketattachment",
            name="content_type",
            field=models.CharField(max_length=120, verbose_name="detected type"),
        ),
        migrations.AlterField(
            model_name="ticketattachment",
            name="size",
            field=models.PositiveBigIntegerField(help_text="In bytes."),
        ),
        migrations.AlterField(
            model_name="ticketattachment",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="uploaded at"
            ),
        ),
    ]
