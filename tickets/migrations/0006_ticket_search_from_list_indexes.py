# A customer's search of their ticket list (a subject's substring, or a number) is answered from the list's own
# indexes, which now carry the subject and the number: only the tickets the customer may see are read, from the
# index alone. PostgreSQL also keeps statistics on the upper-cased subject the search compares, so it knows how
# many tickets a word matches: a common word is read down the list's order until a page is full, a rare one
# counted first. No trigram index: PostgreSQL picks one for a long search text, then reads each of the text's
# trigrams' entries, most of them common to nearly every ticket of every organisation.

from django.db import migrations, models

STATISTICS = "ticket_subject_upper"


def statistics_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("tickets", "Ticket")._meta.db_table)
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} ON (UPPER(subject::text)) FROM {table}")
    # Built by ANALYZE: until autovacuum runs it, the planner would keep guessing.
    schema_editor.execute(f"ANALYZE {table}")


def statistics_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_ticket_list_indexes_in_list_order"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_requester_list",
        ),
        migrations.RemoveIndex(
            model_name="ticket",
            name="ticket_company_list",
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["requester", "-updated_at", "-id"],
                include=("organisation", "status", "number", "subject"),
                name="ticket_requester_list",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("company__isnull", False)),
                fields=["company", "-updated_at", "-id"],
                include=("organisation", "requester", "status", "number", "subject"),
                name="ticket_company_list",
            ),
        ),
        migrations.RunPython(statistics_create, statistics_drop, elidable=False),
    ]
