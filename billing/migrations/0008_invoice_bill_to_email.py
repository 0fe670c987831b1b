# The address an invoice was sent to, kept with it as its bill-to name is: its PDF no longer changes when the customer's
# address does. Invoices issued before take their customer's address as it is now, the nearest there is.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def bill_to_email_of_issued_invoices(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Customer = apps.get_model("portal_auth", "Customer")
    email = Customer.objects.filter(pk=OuterRef("customer_id")).values("email")[:1]
    invoices = Invoice.objects.using(schema_editor.connection.alias).exclude(status="draft")
    invoices.filter(bill_to_email="").update(bill_to_email=Subquery(email))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_billing_name_without_hidden_characters"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="bill_to_email",
            field=models.CharField(blank=True, default="", editable=False, max_length=254),
        ),
        migrations.RunPython(bill_to_email_of_issued_invoices, migrations.RunPython.noop),
    ]
