"""Prove every customer page stays fast at the target scale: each of its queries uses an index.

Drops and recreates a PostgreSQL database (DATABASE_URL, default portal_scale on loopback),
migrates, and bulk-loads with INSERT … SELECT generate_series (no ORM row by row):

    organisation "scale", at --scale 1 (the default):
        100,000 customers, 200,000 bookings with 400,000 attendees, 5,000 companies,
        1,000,000 tickets with 2,000,000 messages, 300,000 conversations with ~1,900,000 messages,
        100,000 access-link tokens
    organisation "other": the same shapes at half that size, with the same customer emails,
        so every look-up by email or organisation has another tenant's rows to skip.

    organisation "scale" also offers a service customers book themselves: a 30-minute appointment on one
        resource open 08:00-20:00 every day in Europe/London, with 50,000 bookings on that resource
        (half its slots, over eleven years), whatever --scale.

Two customers of "scale" are measured: a typical one (a few bookings, ~10 tickets, ~3
conversations) and a heavy one (1,000 bookings, 5,000 tickets of their own and 20,000 of their
company's, 2,000 conversations, a ticket and a conversation of 300 messages each).

For each page and sign-in door it captures the SQL Django really sends, by requesting the page
through Django's test Client under CaptureQueriesContext, then runs EXPLAIN (ANALYZE, BUFFERS) on
every statement (inside a transaction that is rolled back, so writes leave nothing behind) and
prints each one's time (the fastest of three runs, timed without the per-node clock readings of
EXPLAIN's plan) and any sequential scan of a large table (over 10,000 rows). It exits 1 if any
statement takes over 20 ms or seq-scans a large table.

    .venv/bin/python bench/scale.py                 # load (about 2½ minutes on 2 cores) and measure
    .venv/bin/python bench/scale.py --reuse         # measure again, after migrating the loaded database
    .venv/bin/python bench/scale.py --scale 0.1     # a tenth of the data, for a quick look
"""

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_scale"
SLOW_MS = 20.0
RUNS = 3
# Views of a page before it is measured as run: PostgreSQL prepares a statement on its 5th run (prepare_threshold)
# and chooses between its custom and generic plans after 5 more.
WARM_VIEWS = 12
LARGE_TABLE_ROWS = 10_000
PASSWORD = "a bench password, long enough"
SUBJECT_WORDS = "invoice delivery refund password booking upgrade transfer luggage payment cancellation"


def configure_django(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal_project.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="testserver",
        SITE_URL="https://portal.example.test",
        SECURE_SSL_REDIRECT="false",
        EMAIL_URL="consolemail://",
        # Emails are kept in memory: the bench measures the app's own tables.
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        CACHE_URL="locmemcache://",
        # Rate-limit counters are rows of this database, which `make bench`'s sign-in storm may have just filled.
        RATE_LIMIT_SIGN_IN_FAILED="1000000/5m/ip,1000000/5m/key",
        RATE_LIMIT_PASSWORD_LINK="1000000/h/ip,1000000/h/key",
        # Each view is rendered and its statements run, however often the page is viewed (see WARM_VIEWS).
        PORTAL_PAGE_CACHE="false",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()


def recreate_database(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# ---------------------------------------------------------------------------------------------
# Loading


def _sql(cursor, statement: str, **params) -> None:
    cursor.execute(statement, params)


def insert_organisation(cursor, *, name: str, slug: str) -> int:
    """An organisation row and its primary portal at its slug, as `Organisation.save()` makes them; its id."""
    cursor.execute(
        """INSERT INTO portal_auth_organisation (name, slug, display_name, requires_sign_in,
               session_lifetime, support_email, support_phone, support_url, doors,
               external_sign_on_url, external_sign_on_secret, external_sign_on_secret_id,
               external_sign_on_previous_secret, external_sign_on_previous_secret_id, created_at,
               notification_links_sign_in, redirect_confirms, footer_links)
           VALUES (%(name)s, %(slug)s, '', true, interval '1 day', '', '', '',
                   '["password", "access_link"]', '', '', '', '', '', now(), false, false, '{}')
           RETURNING id""",
        {"name": name, "slug": slug},
    )
    organisation = cursor.fetchone()[0]
    cursor.execute(
        """INSERT INTO portal_auth_portal (organisation_id, slug, name, is_primary, accent_colour, accent_text_colour,
               logo, favicon, section_layout, created_at)
           VALUES (%s, %s, %s, true, '#1d4ed8', '#ffffff', '', '', '[]', now())""",
        [organisation, slug, name],
    )
    return organisation


def load_organisation(cursor, *, slug: str, factor: float, company_access: bool) -> tuple[int, int, int]:
    """One organisation's rows at `factor` × the target: (its id, its first customer's id, its customer count)."""
    customers = max(int(100_000 * factor), 100)
    sizes = {
        "customers": customers,
        "bookings": customers * 2,
        "companies": max(customers // 20, 5),
        "tickets": customers * 10,
        "conversations": customers * 3,
    }
    organisation = insert_organisation(cursor, name=slug.title(), slug=slug)
    params = {"org": organisation, **sizes, "words": SUBJECT_WORDS.split()}

    _sql(
        cursor,
        """INSERT INTO portal_auth_customer (organisation_id, email, name, password, session_version, is_active,
               created_at, external_id, email_choices)
           SELECT %(org)s, 'c' || g || '@example.com', 'Customer ' || g, '', 1, true, now() - g * interval '1 minute',
                  '', '{}'
           FROM generate_series(1, %(customers)s) g""",
        **params,
    )
    first = _first_id(cursor, "portal_auth_customer", organisation, sizes["customers"])
    params["first_customer"] = first

    _sql(
        cursor,
        """INSERT INTO portal_auth_customertoken (organisation_id, customer_id, purpose, token_hash, next_path,
               created_at, expires_at, used_at)
           SELECT %(org)s, %(first_customer)s + g - 1, 'access_link',
                  encode(sha256(convert_to(%(org)s || ':' || g, 'UTF8')), 'hex'), '',
                  now() - interval '40 days' + g %% 40 * interval '1 day',
                  now() - interval '10 days' + g %% 40 * interval '1 day',
                  CASE WHEN g %% 3 = 0 THEN now() - interval '1 day' END
           FROM generate_series(1, %(customers)s) g""",
        **params,
    )

    _sql(
        cursor,
        """INSERT INTO bookings_booking (organisation_id, reference, title, starts_on, ends_on, status,
               main_contact_name, main_contact_email, created_at)
           SELECT %(org)s, left(md5(%(org)s || '-' || g), 22), 'Trip ' || g, s.day, s.day + g %% 14,
                  (ARRAY['confirmed', 'confirmed', 'provisional', 'cancelled'])[1 + g %% 4],
                  'Main contact', 'main' || g || '@example.com', now()
           FROM generate_series(1, %(bookings)s) g,
                LATERAL (SELECT current_date + (random() * 730)::int - 500 + g * 0 AS day) s""",
        **params,
    )
    first_booking = _first_id(cursor, "bookings_booking", organisation, sizes["bookings"])
    _sql(
        cursor,
        """INSERT INTO bookings_attendee (booking_id, name, email)
           SELECT %(first_booking)s + (g - 1) / 2, 'Attendee ' || g,
                  'c' || (1 + (random() * (%(customers)s - 1))::int + g * 0) || '@example.com'
           FROM generate_series(1, %(bookings)s * 2) g""",
        first_booking=first_booking,
        **params,
    )

    _sql(
        cursor,
        """INSERT INTO tickets_ticketsettings (organisation_id, customer_access, link_on_staff_ticket)
           VALUES (%(org)s, %(access)s, false)""",
        org=organisation,
        access="contact_or_company" if company_access else "contact",
    )
    _sql(
        cursor,
        """INSERT INTO tickets_company (organisation_id, name)
           SELECT %(org)s, 'Company ' || g FROM generate_series(1, %(companies)s) g""",
        **params,
    )
    params["first_company"] = _first_id(cursor, "tickets_company", organisation, sizes["companies"])
    # Three customers in ten belong to a company.
    _sql(
        cursor,
        """INSERT INTO tickets_company_members (company_id, customer_id)
           SELECT %(first_company)s + g %% %(companies)s, %(first_customer)s + g - 1
           FROM generate_series(1, %(customers)s) g WHERE g %% 10 < 3""",
        **params,
    )
    _sql(
        cursor,
        """INSERT INTO tickets_ticket (organisation_id, number, requester_id, company_id, subject, status, priority,
               created_at, updated_at)
           SELECT %(org)s, g, %(first_customer)s + (random() * (%(customers)s - 1))::int + g * 0,
                  CASE WHEN g %% 10 < 3 THEN %(first_company)s + g %% %(companies)s END,
                  'Question about ' || (%(words)s::text[])[1 + g %% 10] || ' ' || g,
                  (ARRAY['new', 'open', 'pending', 'solved', 'closed'])[1 + g %% 5],
                  (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + g %% 5],
                  t.at - interval '3 days', t.at
           FROM generate_series(1, %(tickets)s) g,
                LATERAL (SELECT now() - random() * interval '3 years' + g * interval '0 s' AS at) t""",
        **params,
    )
    _sql(
        cursor,
        "INSERT INTO tickets_ticketnumbercounter (organisation_id, last_number) VALUES (%(org)s, %(tickets)s)",
        **params,
    )
    # Two messages a ticket: the requester's question, then a reply (an internal note one time in five).
    _sql(
        cursor,
        """INSERT INTO tickets_ticketmessage (ticket_id, author_customer_id, author_name, body, internal, created_at)
           SELECT t.id, CASE WHEN i = 1 THEN t.requester_id END,
                  CASE WHEN i = 1 THEN 'Customer' ELSE 'Support team' END,
                  CASE WHEN i = 1 THEN 'Hello, I have a question about my account. ' || t.number
                       ELSE 'Thank you for writing; here is what we found. ' || t.number END,
                  i = 2 AND t.id %% 5 = 0, t.created_at + i * interval '1 hour'
           FROM tickets_ticket t, generate_series(1, 2) i WHERE t.organisation_id = %(org)s""",
        **params,
    )

    _sql(
        cursor,
        """INSERT INTO conversations_conversation (organisation_id, customer_id, channel, status, subject, attributes,
               created_at, last_activity_at)
           SELECT %(org)s, %(first_customer)s + (random() * (%(customers)s - 1))::int + g * 0,
                  (ARRAY['chat', 'email', 'sms', 'whatsapp', 'portal'])[1 + g %% 5],
                  CASE WHEN g %% 3 = 0 THEN 'closed' ELSE 'open' END, 'Conversation ' || g,
                  jsonb_build_object('order_number', 'A-' || g), a.at - interval '2 days', a.at
           FROM generate_series(1, %(conversations)s) g,
                LATERAL (SELECT now() - random() * interval '3 years' + g * interval '0 s' AS at) a""",
        **params,
    )
    _insert_conversation_messages(
        cursor, f"c.organisation_id = {int(organisation)}", per_conversation="6 + c.id % 3 / 2"
    )
    return organisation, first, customers


def _insert_conversation_messages(cursor, where: str, per_conversation: str) -> None:
    cursor.execute(
        f"""INSERT INTO conversations_message (conversation_id, direction, channel, body, internal, author_name,
               created_at, redacted_at)
            SELECT c.id, CASE WHEN i % 2 = 1 THEN 'from_customer' ELSE 'from_staff' END, c.channel,
                   'Message ' || i || ' of conversation ' || c.id || ': a line or two of ordinary text.',
                   i % 7 = 0, CASE WHEN i % 2 = 1 THEN 'Customer' ELSE 'Support' END,
                   c.created_at + i * interval '1 minute', CASE WHEN i % 50 = 0 THEN now() END
            FROM conversations_conversation c, LATERAL generate_series(1, {per_conversation}) i
            WHERE {where}"""
    )


def _first_id(cursor, table: str, organisation: int, expected: int) -> int:
    cursor.execute(f"SELECT min(id), max(id), count(*) FROM {table} WHERE organisation_id = %s", [organisation])
    low, high, count = cursor.fetchone()
    # Rows inserted by one statement on a fresh database get consecutive ids: the loader relies on it.
    assert count == expected and high - low + 1 == count, f"{table}: ids not contiguous"
    return low


def load_heavy_customer(cursor, organisation: int, *, first_customer: int, customers: int) -> None:
    """A customer with many of everything: long lists, a big company, long threads."""
    cursor.execute(
        """INSERT INTO portal_auth_customer (organisation_id, email, name, password, session_version, is_active,
               created_at, external_id, email_choices)
           VALUES (%s, 'heavy@example.com', 'Heavy Customer', '', 1, true, now(), '', '{}') RETURNING id""",
        [organisation],
    )
    heavy = cursor.fetchone()[0]
    params = {
        "org": organisation,
        "heavy": heavy,
        "words": SUBJECT_WORDS.split(),
        "first_customer": first_customer,
        "customers": customers,
    }
    _sql(
        cursor,
        """WITH new AS (
               INSERT INTO bookings_booking (organisation_id, reference, title, starts_on, ends_on, status,
                   main_contact_name, main_contact_email, created_at)
               SELECT %(org)s, left(md5('heavy-' || g), 22), 'Heavy trip ' || g, current_date + g - 700,
                      current_date + g - 697, 'confirmed', '', '', now()
               FROM generate_series(1, 1000) g RETURNING id)
           INSERT INTO bookings_attendee (booking_id, name, email) SELECT id, 'Heavy Customer', 'heavy@example.com'
           FROM new""",
        **params,
    )
    _sql(
        cursor,
        "INSERT INTO tickets_company (organisation_id, name) VALUES (%(org)s, 'Big Company')",
        **params,
    )
    _sql(
        cursor,
        """INSERT INTO tickets_company_members (company_id, customer_id)
           SELECT id, %(heavy)s FROM tickets_company WHERE organisation_id = %(org)s AND name = 'Big Company'""",
        **params,
    )
    _sql(
        cursor,
        """INSERT INTO tickets_ticket (organisation_id, number, requester_id, company_id, subject, status, priority,
               created_at, updated_at)
           SELECT %(org)s, n.last_number + g,
                  CASE WHEN g <= 5000 THEN %(heavy)s ELSE %(first_customer)s + g %% %(customers)s END,
                  CASE WHEN g > 5000 THEN (SELECT id FROM tickets_company WHERE name = 'Big Company') END,
                  'Heavy question about ' || (%(words)s::text[])[1 + g %% 10] || ' ' || g,
                  (ARRAY['new', 'open', 'pending', 'solved', 'closed'])[1 + g %% 5], 'normal',
                  now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '30 minutes'
           FROM tickets_ticketnumbercounter n, generate_series(1, 25000) g WHERE n.organisation_id = %(org)s""",
        **params,
    )
    _sql(
        cursor,
        "UPDATE tickets_ticketnumbercounter SET last_number = last_number + 25000 WHERE organisation_id = %(org)s",
        **params,
    )
    _sql(
        cursor,
        """INSERT INTO tickets_ticketmessage (ticket_id, author_customer_id, author_name, body, internal, created_at)
           SELECT t.id, CASE WHEN t.number = n.last_number - 24999 AND i %% 2 = 1 THEN %(heavy)s END,
                  CASE WHEN t.number = n.last_number - 24999 AND i %% 2 = 1 THEN 'Heavy Customer'
                       ELSE 'Support team' END,
                  'Message ' || i || ' on ticket ' || t.number,
                  i %% 2 = 0 AND i %% 10 = 0, t.created_at + i * interval '1 minute'
           FROM tickets_ticket t JOIN tickets_ticketnumbercounter n ON n.organisation_id = t.organisation_id,
                LATERAL generate_series(1, CASE WHEN t.number = n.last_number - 24999 THEN 300 ELSE 2 END) i
           WHERE t.organisation_id = %(org)s AND t.number > n.last_number - 25000""",
        **params,
    )
    _sql(
        cursor,
        """INSERT INTO conversations_conversation (organisation_id, customer_id, channel, status, subject, attributes,
               created_at, last_activity_at)
           SELECT %(org)s, %(heavy)s, 'chat', 'open', 'Heavy conversation ' || g, '{}',
                  now() - g * interval '1 hour', now() - g * interval '1 hour' + interval '1 minute'
           FROM generate_series(1, 2000) g""",
        **params,
    )
    _insert_conversation_messages(
        cursor,
        f"c.customer_id = {int(heavy)}",
        per_conversation="CASE WHEN c.subject = 'Heavy conversation 1' THEN 300 ELSE 2 END",
    )


def load(connection, factor: float) -> None:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SELECT setseed(0.42)")
        organisation, first_customer, customers = load_organisation(
            cursor, slug="scale", factor=factor, company_access=True
        )
        print(f"  organisation scale loaded in {time.monotonic() - started:.0f} s", flush=True)
        load_heavy_customer(cursor, organisation, first_customer=first_customer, customers=customers)
        load_organisation(cursor, slug="other", factor=factor / 2, company_access=False)
        print(f"  organisation other loaded in {time.monotonic() - started:.0f} s", flush=True)
    connection.commit()
    analyze(connection)
    print(f"  loaded and analysed in {time.monotonic() - started:.0f} s", flush=True)


RESOURCE_BOOKINGS = 50_000


def load_bookable_service() -> None:
    """The appointment customers book themselves and 50,000 bookings on its resource (added if missing)."""
    import datetime

    from django.db import connection

    from bookings.models import OpeningHours, Resource, Service
    from portal_auth.models import Organisation

    organisation = Organisation.objects.get(slug="scale")
    if Service.objects.filter(organisation=organisation).exists():
        return
    Organisation.objects.filter(pk=organisation.pk).update(time_zone="Europe/London")
    resource = Resource.objects.create(organisation=organisation, name="Consulting room")
    OpeningHours.objects.bulk_create(
        OpeningHours(resource=resource, weekday=day, opens=datetime.time(8), closes=datetime.time(20))
        for day in range(7)
    )
    service = Service.objects.create(
        organisation=organisation,
        name="Appointment",
        duration=datetime.timedelta(minutes=30),
        price=40,
        resource=resource,
        min_notice=datetime.timedelta(hours=2),
        max_advance=datetime.timedelta(days=60),
    )
    # Every other slot of each day, 12 a day, from 4,000 days ago: the last ones fall in the bookable window.
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO bookings_booking (organisation_id, reference, title, starts_on, ends_on, status,
                   main_contact_name, main_contact_email, created_at, service_id, resource_id,
                   slot_starts_at, slot_ends_at)
               SELECT %(org)s, left(md5('slot-' || g), 22), 'Appointment', s.day, s.day, 'confirmed',
                      'Main contact', 'main@example.com', now(), %(service)s, %(resource)s,
                      s.starts, s.starts + interval '30 minutes'
               FROM generate_series(0, %(count)s - 1) g,
                    LATERAL (SELECT current_date - 4000 + g / 12 AS day) d,
                    LATERAL (SELECT d.day, ((d.day + time '08:00' + (g %% 12) * interval '1 hour')
                                           AT TIME ZONE 'Europe/London') AS starts) s""",
            {"org": organisation.pk, "service": service.pk, "resource": resource.pk, "count": RESOURCE_BOOKINGS},
        )
        cursor.execute("ANALYZE bookings_booking")


def analyze(connection) -> None:
    # VACUUM too, as autovacuum does after a load: it marks the pages all-visible that index-only scans rely on.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.commit()


# ---------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Statement:
    sql: str
    ms: float
    large_seq_scans: list[str]
    plan: str

    @property
    def failed(self) -> bool:
        return self.ms > SLOW_MS or bool(self.large_seq_scans)


@dataclass
class Page:
    name: str
    status: int
    statements: list[Statement] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(statement.failed for statement in self.statements)


EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def table_sizes() -> dict[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
        return dict(cursor.fetchall())


def _seq_scans(node: dict) -> list[str]:
    found = [node["Relation Name"]] if node.get("Node Type") == "Seq Scan" else []
    for child in node.get("Plans", []):
        found += _seq_scans(child)
    return found


def explain(sql: str, sizes: dict[str, float], measured_ms: float) -> Statement:
    """EXPLAIN ANALYZE one statement, rolled back: a write is measured, then undone.

    Its time is the fastest of RUNS: on a machine busy with other work a single run measures the machine.
    The runs are timed with TIMING OFF: reading the clock twice per row at every node of the plan (about
    60 ns a reading here) doubled the time of a statement that counts 25,000 rows.
    A write that can't run twice (the session row it inserted exists now) keeps the time Django
    measured when the page ran, and its plan is only estimated.
    """
    from django.db import IntegrityError, connection, transaction

    try:
        timings = []
        for _ in range(RUNS):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) {sql}")
                plan = _json(cursor.fetchone()[0])
                transaction.set_rollback(True)
            timings.append(plan["Planning Time"] + plan["Execution Time"])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        ms = min(timings)
    except IntegrityError:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = _json(cursor.fetchone()[0])
            cursor.execute(f"EXPLAIN {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
        ms = measured_ms
    large = sorted({table for table in _seq_scans(plan["Plan"]) if sizes.get(table, 0) > LARGE_TABLE_ROWS})
    return Statement(sql=sql, ms=ms, large_seq_scans=large, plan=text)


def _json(value) -> dict:
    return (json.loads(value) if isinstance(value, str) else value)[0]


def measure(client, name: str, method: str, path: str, sizes: dict[str, float], data: dict | None = None) -> Page:
    """The page's statements, each timed as EXPLAIN ANALYZE runs it with its values written in (the plan made for
    them), and, for a GET, as the page itself ran it after WARM_VIEWS views: by then PostgreSQL runs its prepared
    statements with a generic plan, made for any values, which may be far slower for these (a plan that walks
    every ticket looking for a company's few). The slower of the two counts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # As EXPLAIN's, the fastest of RUNS views: one view on a busy machine measures the machine.
    as_run: list[float] = []
    if method == "get":
        for _ in range(WARM_VIEWS):
            client.get(path, data or {})
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as viewed:
                client.get(path, data or {})
            times = [float(query["time"]) * 1000 for query in viewed.captured_queries]
            as_run = times if not as_run else [min(pair) for pair in zip(as_run, times, strict=False)]
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, data or {})
    page = Page(name=name, status=response.status_code)
    for index, query in enumerate(captured.captured_queries):
        # A UNION of limited SELECTs starts with its first one's parenthesis.
        if query["sql"].lstrip(" \n(").upper().startswith(EXPLAINABLE):
            statement = explain(query["sql"], sizes, float(query["time"]) * 1000)
            if index < len(as_run) and as_run[index] > statement.ms:
                statement = dataclasses.replace(statement, ms=as_run[index])
            page.statements.append(statement)
    return page


@dataclass(frozen=True)
class Subject:
    label: str
    email: str
    booking: str
    ticket: int
    conversation: int


def find_subject(label: str, email: str) -> Subject:
    from bookings.selectors import bookings_for
    from conversations.selectors import conversations_for
    from portal_auth.models import Customer
    from tickets.selectors import tickets_for

    customer = Customer.objects.get(organisation__slug="scale", email=email)
    booking = bookings_for(customer).order_by("-starts_on").first()
    ticket = next(iter(tickets_for(customer)[0:1]), None)
    conversation = conversations_for(customer).first()
    assert booking and ticket and conversation, f"{email} lacks a booking, a ticket or a conversation"
    return Subject(label, email, booking.reference, ticket.number, conversation.pk)


def typical_customer_email() -> str:
    """A customer from the middle of the list with at least one booking, ticket and conversation."""
    from bookings.selectors import bookings_for
    from conversations.selectors import conversations_for
    from portal_auth.models import Customer
    from tickets.selectors import visible_tickets

    customers = Customer.objects.filter(organisation__slug="scale")
    middle = customers.count() // 2
    for number in range(middle, middle + 200):
        customer = customers.get(email=f"c{number}@example.com")
        if all(rows(customer).exists() for rows in (bookings_for, visible_tickets, conversations_for)):
            return customer.email
    raise SystemExit("No customer near the middle has a booking, a ticket and a conversation.")


def set_passwords(emails: list[str]) -> None:
    from django.contrib.auth.hashers import make_password

    from portal_auth.models import Customer

    Customer.objects.filter(organisation__slug="scale", email__in=emails).update(password=make_password(PASSWORD))


def pages_of(subject: Subject, sizes: dict[str, float]) -> list[Page]:
    from django.test import Client

    from portal_auth.models import Customer, CustomerToken

    org = "/scale"
    client = Client()
    search_word = SUBJECT_WORDS.split()[2]
    signed_in = measure(
        client, "sign-in POST", "post", f"{org}/sign-in/", sizes, {"email": subject.email, "password": PASSWORD}
    )
    if signed_in.status != 302 or "portal_customer_id" not in client.session:
        # Every page after it would measure the way to the sign-in page instead.
        raise SystemExit(f"{subject.email} could not sign in (HTTP {signed_in.status}): nothing measured.")
    pages = [
        signed_in,
        measure(client, "portal home", "get", f"{org}/", sizes),
        measure(client, "my bookings", "get", f"{org}/bookings/", sizes),
        measure(client, "a booking", "get", f"{org}/bookings/{subject.booking}/", sizes),
        measure(client, "tickets", "get", f"{org}/support/", sizes),
        measure(client, "tickets, status open", "get", f"{org}/support/", sizes, {"status": "open"}),
        measure(client, "tickets, page 50", "get", f"{org}/support/", sizes, {"page": "50"}),
        measure(client, "tickets, page 500", "get", f"{org}/support/", sizes, {"page": "500"}),
        measure(client, "tickets, last page", "get", f"{org}/support/", sizes, {"page": "last"}),
        measure(client, f"tickets, search {search_word!r}", "get", f"{org}/support/", sizes, {"q": search_word}),
        measure(client, "tickets, search by number", "get", f"{org}/support/", sizes, {"q": f"#{subject.ticket}"}),
        measure(client, "a ticket", "get", f"{org}/support/{subject.ticket}/", sizes),
        measure(client, "conversations", "get", f"{org}/conversations/", sizes),
        measure(client, "a conversation", "get", f"{org}/conversations/{subject.conversation}/", sizes),
        measure(Client(), "password-link request", "post", f"{org}/password/", sizes, {"email": subject.email}),
        *bookable_pages(client, sizes),
    ]
    customer = Customer.objects.get(organisation__slug="scale", email=subject.email)
    _token, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.ACCESS_LINK, lifetime=timedelta(days=30)
    )
    visitor = Client()
    pages += [
        measure(visitor, "access link: emailed link", "get", f"{org}/support/portal/{raw}", sizes),
        measure(visitor, "access link: its page", "get", f"{org}/support/portal/open/", sizes),
        measure(visitor, "access link: open (POST)", "post", f"{org}/support/portal/open/", sizes),
    ]
    return pages


def bookable_pages(client, sizes: dict[str, float]) -> list[Page]:
    """The pages a customer books on: the service's next four weeks, a day's times, a time's details."""
    import datetime

    from bookings.models import Service

    service = Service.objects.get(organisation__slug="scale")
    book = f"/scale/bookings/book/{service.pk}"
    day = datetime.date.today() + datetime.timedelta(days=3)
    return [
        measure(client, "book: services", "get", "/scale/bookings/book/", sizes),
        measure(client, "book: days with room", "get", f"{book}/", sizes),
        measure(client, "book: a day's times", "get", f"{book}/{day}/", sizes),
        measure(client, "book: a free time's details", "get", f"{book}/{day}/0930/", sizes),
        measure(client, "book: a taken time, nearest", "get", f"{book}/{day}/0900/", sizes),
    ]


def report(label: str, pages: list[Page], verbose: bool) -> None:
    print(f"\n== {label}")
    for page in pages:
        slowest = max((statement.ms for statement in page.statements), default=0.0)
        mark = "FAIL" if page.failed else "ok"
        print(f"{page.name:<34} {page.status:>3}  {len(page.statements):>2} queries  slowest {slowest:7.2f} ms  {mark}")
        for statement in page.statements:
            if statement.failed or verbose:
                seq = f"  seq scan on {', '.join(statement.large_seq_scans)}" if statement.large_seq_scans else ""
                print(f"    {statement.ms:8.2f} ms{seq}  {' '.join(statement.sql.split())[:160]}")
                if statement.failed:
                    print("      " + statement.plan.replace("\n", "\n      "))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the target sizes (default 1).")
    parser.add_argument("--reuse", action="store_true", help="Keep the loaded database; only migrate and vacuum.")
    parser.add_argument("--verbose", action="store_true", help="Print every statement, not only failing ones.")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The scale benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")

    if not args.reuse:
        print(f"Recreating {database_url.rsplit('/', 1)[1]} and loading at scale {args.scale}", flush=True)
        recreate_database(database_url)
    configure_django(database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    connection.ensure_connection()
    raw = connection.connection
    if not args.reuse:
        load(raw, args.scale)
    else:
        analyze(raw)

    load_bookable_service()
    set_passwords([typical_customer_email(), "heavy@example.com"])
    sizes = table_sizes()
    subjects = [
        find_subject("typical customer", typical_customer_email()),
        find_subject("heavy customer", "heavy@example.com"),
    ]
    failed = False
    for subject in subjects:
        pages = pages_of(subject, sizes)
        report(f"{subject.label} ({subject.email})", pages, args.verbose)
        failed |= any(page.failed for page in pages)
    from django.test import Client

    unknown = measure(
        Client(),
        "password-link request, unknown email",
        "post",
        "/scale/password/",
        sizes,
        {"email": "nobody-here@example.com"},
    )
    report("anyone", [unknown], args.verbose)
    failed |= unknown.failed
    print(
        f"\n{'FAIL' if failed else 'PASS'}: every statement under {SLOW_MS:.0f} ms, no seq scan over "
        f"{LARGE_TABLE_ROWS:,} rows" + ("" if not failed else " — see above")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
