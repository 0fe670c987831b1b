# A message keeps its author's name as the customer is told it (tickets.models.author_name_for), so the ticket page
# reads no author's row. Existing messages get the name their page shows today.

from django.conf import settings
from django.db import migrations, models
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim


def fill_author_names(apps, schema_editor):
    TicketMessage = apps.get_model("tickets", "TicketMessage")
    Customer = apps.get_model("portal_auth", "Customer")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    customer = Customer.objects.filter(pk=OuterRef("author_customer_id"))
    TicketMessage.objects.filter(author_customer__isnull=False).update(
        author_name=Coalesce(
            NullIf(Subquery(customer.values("name")[:1]), Value("")),
            Subquery(customer.values("email")[:1]),
            output_field=CharField(),
        )
    )
    # staff_display_name: the full name, else the first name, else "Support team".
    staff = User.objects.filter(pk=OuterRef("author_staff_id")).annotate(
        full_name=Trim(Concat("first_name", Value(" "), "last_name", output_field=CharField()))
    )
    TicketMessage.objects.filter(author_customer__isnull=True, author_staff__isnull=False).update(
        author_name=Coalesce(
            NullIf(Subquery(staff.values("full_name")[:1]), Value("")),
            NullIf(Subquery(staff.values("first_name")[:1]), Value("")),
            Value("Support team"),
            output_field=CharField(),
        )
    )
    TicketMessage.objects.filter(author_customer__isnull=True, author_staff__isnull=True).update(
        author_name="Support team"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0003_attachment_is_a_stored_upload"),
        ("portal_auth", "0008_rate_limit_counters_move_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketmessage",
            name="author_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(fill_author_names, migrations.RunPython.noop, elidable=True),
    ]
