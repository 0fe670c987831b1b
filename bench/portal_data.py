"""The portal's benchmark database: the target scale loaded once, then kept and migrated run after run.

    .venv/bin/python bench/portal_data.py --database-url postgres://…/portal_bench [--scale 1]

Prints one line of JSON: what `bench/run.py` requests (the measured customer's session, booking,
ticket and conversation). On the first run, or when the database holds another scale, it recreates
the database and bulk-loads `bench/scale.py`'s organisations (1,000,000 tickets in "scale" at scale 1);
a row in the table `bench_loaded`, written last, says the load finished. Every run then migrates,
and gives the measured customer a fresh session and the storm's customers their passwords.

The measured customer, bench@example.com in the organisation "scale": 40 bookings, 60 tickets (the
newest with 20 public messages and 3 internal notes), 30 conversations (the newest with 20 messages).
The organisation "storm" holds the sign-in storm's customers (`bench/sign_in_storm.py`).
"""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402

MEASURED_EMAIL = "bench@example.com"
MEASURED_NAME = "Bench Customer"
BOOKINGS, TICKETS, CONVERSATIONS, THREAD = 40, 60, 30, 20
INTERNAL_NOTES = 3
# What each measured page must show, so a cached answer is known to be the page (bench/run.py checks once).
BOOKING_TITLE = "Bench trip"
TICKET_SUBJECT = "Bench question"
TICKET_MESSAGE = "Bench ticket message"
CONVERSATION_SUBJECT = "Bench conversation"
CONVERSATION_MESSAGE = "Bench conversation message"
STORM_CUSTOMERS = 20


def loaded_scale(cursor) -> float | None:
    cursor.execute("SELECT to_regclass('bench_loaded') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return None
    cursor.execute("SELECT scale FROM bench_loaded")
    row = cursor.fetchone()
    return row[0] if row else None


def database_exists(database_url: str) -> bool:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def existing_scale(database_url: str) -> float | None:
    import psycopg

    if not database_exists(database_url):
        return None
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        return loaded_scale(cursor)


def load_measured_customer(cursor) -> None:
    """The customer whose pages are measured, in the big organisation, written with a few INSERT … SELECTs."""
    cursor.execute("SELECT id FROM portal_auth_organisation WHERE slug = 'scale'")
    organisation = cursor.fetchone()[0]
    cursor.execute(
        """INSERT INTO portal_auth_customer (organisation_id, email, name, password, session_version, is_active,
               created_at, external_id, email_choices)
           VALUES (%s, %s, %s, '', 1, true, now(), '', '{}') RETURNING id""",
        [organisation, MEASURED_EMAIL, MEASURED_NAME],
    )
    params = {
        "org": organisation,
        "customer": cursor.fetchone()[0],
        "email": MEASURED_EMAIL,
        "name": MEASURED_NAME,
        "bookings": BOOKINGS,
        "tickets": TICKETS,
        "conversations": CONVERSATIONS,
        "thread": THREAD,
        "notes": INTERNAL_NOTES,
        "booking_title": BOOKING_TITLE,
        "ticket_subject": TICKET_SUBJECT,
        "ticket_message": TICKET_MESSAGE,
        "conversation_subject": CONVERSATION_SUBJECT,
        "conversation_message": CONVERSATION_MESSAGE,
    }
    cursor.execute(
        """WITH new AS (
               INSERT INTO bookings_booking (organisation_id, reference, title, starts_on, ends_on, status,
                   main_contact_name, main_contact_email, created_at)
               SELECT %(org)s, left(md5('bench-' || g), 22), %(booking_title)s || ' ' || g,
                      current_date + (g - %(bookings)s / 2) * 7, current_date + (g - %(bookings)s / 2) * 7 + 5,
                      'confirmed', %(name)s, %(email)s, now()
               FROM generate_series(1, %(bookings)s) g RETURNING id)
           INSERT INTO bookings_attendee (booking_id, name, email)
           SELECT id, %(name)s, %(email)s FROM new
           UNION ALL SELECT id, 'Travel companion', 'companion-' || id || '@example.com' FROM new""",
        params,
    )
    cursor.execute(
        """INSERT INTO tickets_ticket (organisation_id, number, requester_id, subject, status, priority,
               created_at, updated_at)
           SELECT %(org)s, n.last_number + g, %(customer)s, %(ticket_subject)s || ' ' || g,
                  (ARRAY['new', 'open', 'pending', 'solved', 'closed'])[1 + g %% 5], 'normal',
                  now() - (%(tickets)s - g + 1) * interval '1 day',
                  now() - (%(tickets)s - g + 1) * interval '1 day' + interval '1 hour'
           FROM tickets_ticketnumbercounter n, generate_series(1, %(tickets)s) g WHERE n.organisation_id = %(org)s""",
        params,
    )
    cursor.execute(
        "UPDATE tickets_ticketnumbercounter SET last_number = last_number + %(tickets)s"
        " WHERE organisation_id = %(org)s",
        params,
    )
    # The newest ticket holds the long thread (public messages, then internal notes); the others two messages.
    cursor.execute(
        """INSERT INTO tickets_ticketmessage (ticket_id, author_customer_id, author_name, body, internal, created_at)
           SELECT t.id, CASE WHEN i %% 2 = 1 AND i <= m.public THEN %(customer)s END,
                  CASE WHEN i %% 2 = 1 AND i <= m.public THEN %(name)s ELSE 'Support agent' END,
                  %(ticket_message)s || ' ' || i || ': a line or two of ordinary text about the question.',
                  i > m.public, t.created_at + i * interval '1 minute'
           FROM tickets_ticket t,
                LATERAL (SELECT CASE WHEN t.subject = %(ticket_subject)s || ' ' || %(tickets)s
                                     THEN %(thread)s ELSE 2 END AS public) m,
                LATERAL generate_series(1, m.public + CASE WHEN m.public = %(thread)s THEN %(notes)s ELSE 0 END) i
           WHERE t.organisation_id = %(org)s AND t.requester_id = %(customer)s""",
        params,
    )
    cursor.execute(
        """INSERT INTO conversations_conversation (organisation_id, customer_id, channel, status, subject, attributes,
               created_at, last_activity_at)
           SELECT %(org)s, %(customer)s, (ARRAY['chat', 'email', 'portal'])[1 + g %% 3], 'open',
                  %(conversation_subject)s || ' ' || g, jsonb_build_object('order_number', 'B-' || g),
                  now() - (%(conversations)s - g + 1) * interval '1 day',
                  now() - (%(conversations)s - g + 1) * interval '1 day' + interval '1 hour'
           FROM generate_series(1, %(conversations)s) g""",
        params,
    )
    cursor.execute(
        """INSERT INTO conversations_message (conversation_id, direction, channel, body, internal, author_name,
               created_at)
           SELECT c.id, CASE WHEN i %% 2 = 1 THEN 'from_customer' ELSE 'from_staff' END, c.channel,
                  %(conversation_message)s || ' ' || i || ': a line or two of ordinary text.', false,
                  CASE WHEN i %% 2 = 1 THEN %(name)s ELSE 'Support' END, c.created_at + i * interval '1 minute'
           FROM conversations_conversation c,
                LATERAL generate_series(1, CASE WHEN c.subject = %(conversation_subject)s || ' ' || %(conversations)s
                                                THEN %(thread)s ELSE 2 END) i
           WHERE c.customer_id = %(customer)s""",
        params,
    )


def load_storm_organisation(cursor) -> None:
    """A small organisation whose customers sign in with passwords during the storm."""
    from sign_in_storm import CUSTOMERS

    organisation = scale.insert_organisation(cursor, name="Storm Travel", slug="storm")
    cursor.execute(
        """INSERT INTO portal_auth_customer (organisation_id, email, name, password, session_version, is_active,
               created_at, external_id, email_choices)
           SELECT %s, 'storm' || g || '@example.com', 'Storm ' || g, '', 1, true, now(), '', '{}'
           FROM generate_series(0, %s - 1) g""",
        [organisation, CUSTOMERS],
    )


def set_storm_passwords() -> None:
    """Hashed now with the portal's hasher, so a change of its parameters is measured on the next run."""
    from django.contrib.auth.hashers import make_password
    from sign_in_storm import PASSWORD

    from portal_auth.models import Customer

    Customer.objects.filter(organisation__slug="storm").update(password=make_password(PASSWORD))


def measured_session() -> dict:
    import datetime

    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from bookings.models import Booking
    from conversations.models import Conversation
    from portal_auth import sessions
    from portal_auth.models import Customer
    from tickets.models import Ticket

    customer = Customer.objects.get(organisation__slug="scale", email=MEASURED_EMAIL)
    session = SessionStore()
    session[sessions.SESSION_CUSTOMER] = customer.pk
    session[sessions.SESSION_ORGANISATION] = customer.organisation_id
    session[sessions.SESSION_VERSION] = customer.session_version
    session[sessions.SESSION_METHOD] = "bench"
    session[sessions.SESSION_EXPIRES] = int((timezone.now() + datetime.timedelta(days=1)).timestamp())
    session.set_expiry(86400)
    session.save()
    ticket = Ticket.objects.get(organisation=customer.organisation, subject=f"{TICKET_SUBJECT} {TICKETS}")
    conversation = Conversation.objects.get(customer=customer, subject=f"{CONVERSATION_SUBJECT} {CONVERSATIONS}")
    booking = Booking.objects.get(organisation=customer.organisation, title=f"{BOOKING_TITLE} {BOOKINGS // 2}")
    return {
        # Until the page cache exists, both servers run the same code: bench/run.py says so.
        "page_cache": hasattr(settings, "PAGE_CACHE_ENABLED"),
        "organisation": "scale",
        "session": session.session_key,
        "booking": {"reference": booking.reference, "title": booking.title},
        "ticket": {"number": ticket.number, "subject": ticket.subject},
        "conversation": {"id": conversation.pk, "subject": conversation.subject},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the target sizes (default 1).")
    args = parser.parse_args()

    fresh = existing_scale(args.database_url) != args.scale
    if fresh:
        print(f"Loading the target scale ({args.scale}) into a new database: minutes, once.", file=sys.stderr)
        scale.recreate_database(args.database_url)
    scale.configure_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if fresh:
        started = time.monotonic()
        connection.ensure_connection()
        raw = connection.connection
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON
            scale.load(raw, args.scale)
        with raw.cursor() as cursor:
            load_measured_customer(cursor)
            load_storm_organisation(cursor)
            cursor.execute("CREATE TABLE bench_loaded (scale double precision NOT NULL, loaded_at timestamptz)")
            cursor.execute("INSERT INTO bench_loaded VALUES (%s, now())", [args.scale])
        raw.commit()
        scale.analyze(raw)
        print(f"Loaded in {time.monotonic() - started:.0f} s.", file=sys.stderr)
    set_storm_passwords()
    print(json.dumps(measured_session()))


if __name__ == "__main__":
    main()
