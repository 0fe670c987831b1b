"""The two sites `bench/run.py` measures beside the portal, each made by `django-admin startproject`.

- A startproject page: the same Django as the portal, one view reading a session kept in PostgreSQL
  and rendering a 20-row template; made twice, with Django's default database connections (one opened
  for each request, as `startproject` leaves it and as issue 13 measured it: 207 req/s, 0.066 of the
  bare view's) and with persistent ones, as the portal has.
- django-helpdesk's staff ticket page, installed in a virtualenv of its own (.bench/helpdesk-venv,
  never a dependency of the portal), its database loaded once at the portal's scale (1,000,000
  tickets, two follow-ups each, one ticket with 20) and viewed by a signed-in staff user.

Each gets what the portal gets in production: DEBUG off, persistent database connections
(CONN_MAX_AGE=600; the first startproject page keeps Django's default), sessions in PostgreSQL.
Each `prepare_*` returns how to start its server and what to request; nothing is left running.
"""

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPDESK_VENV = ROOT / ".bench" / "helpdesk-venv"
# Pinned: the comparison is with this release, on a Django it supports (the portal's, as it happens), in a
# virtualenv of its own.
HELPDESK_REQUIREMENTS = ["django-helpdesk==2.6.1", "Django==6.1.3", "gunicorn==27.0.1", "psycopg[binary]==3.3.9"]
HELPDESK_TICKETS = 1_000_000
THREAD = 20
SECRET_KEY = "bench-comparison-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class Site:
    python: Path
    directory: Path
    wsgi: str
    path: str
    session: str
    must_show: str


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def _database(database_url: str) -> dict:
    base, name = database_url.rsplit("/", 1)
    user_host = base.split("://", 1)[1]
    user, host_port = user_host.rsplit("@", 1) if "@" in user_host else ("postgres", user_host)
    host, _, port = host_port.partition(":")
    user, _, password = user.partition(":")
    return {"NAME": name, "USER": user, "PASSWORD": password, "HOST": host, "PORT": port or "5432"}


def _ensure_database(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def _startproject(
    django_admin: Path,
    name: str,
    directory: Path,
    database_url: str,
    extra: str,
    *,
    persistent_connections: bool = True,
) -> None:
    """`django-admin startproject`, then the production settings every measured site gets, appended."""
    connections = '"CONN_MAX_AGE": 600, ' if persistent_connections else ""
    directory.mkdir(parents=True)
    _run([str(django_admin), "startproject", name, str(directory)])
    settings = directory / name / "settings.py"
    settings.write_text(
        settings.read_text()
        + textwrap.dedent(
            f"""
            # Appended for the benchmark: what a production deployment sets.
            SECRET_KEY = {SECRET_KEY!r}
            DEBUG = False
            ALLOWED_HOSTS = ["127.0.0.1"]
            DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", {connections}
                                       **{_database(database_url)!r}}}}}
            """
        )
        + textwrap.dedent(extra)
    )


def _manage(python: Path, directory: Path, *args: str) -> str:
    return _run([str(python), "manage.py", *args], cwd=directory).stdout


# ---------------------------------------------------------------------------------------------
# A startproject page: a session and a 20-row template

PAGE_VIEW = """
import datetime

from django.shortcuts import render


def rows(request):
    today = datetime.date(2025, 1, 1)
    items = [
        {"number": n, "title": f"Row {n} of the page", "day": today + datetime.timedelta(days=n), "done": n % 3 == 0}
        for n in range(1, 21)
    ]
    return render(request, "rows.html", {"name": request.session.get("name", "visitor"), "items": items})
"""

PAGE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rows for {{ name }}</title></head>
<body>
<h1>Hello {{ name }}</h1>
<table>
  <thead><tr><th>#</th><th>Title</th><th>Day</th><th>State</th></tr></thead>
  <tbody>
  {% for item in items %}
    <tr class="{% cycle 'odd' 'even' %}">
      <td>{{ item.number }}</td><td>{{ item.title }}</td><td>{{ item.day|date:"j M Y" }}</td>
      <td>{% if item.done %}done{% else %}open{% endif %}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
</body></html>
"""

SESSION = """
from django.contrib.sessions.backends.db import SessionStore
session = SessionStore()
session["name"] = {name!r}
session.set_expiry(86400)
session.save()
print(session.session_key)
"""


def prepare_startproject(directory: Path, database_url: str, *, persistent_connections: bool = True) -> Site:
    """A fresh startproject in `directory` with one page; its database (sessions only) kept between runs.

    Without `persistent_connections`, Django's default (CONN_MAX_AGE=0): each request opens its own connection.
    """
    python = Path(sys.executable)
    _ensure_database(database_url)
    _startproject(
        python.parent / "django-admin",
        "pagesite",
        directory,
        database_url,
        """
        TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
        """,
        persistent_connections=persistent_connections,
    )
    (directory / "templates").mkdir()
    (directory / "templates" / "rows.html").write_text(PAGE_TEMPLATE)
    (directory / "pagesite" / "views.py").write_text(PAGE_VIEW)
    urls = directory / "pagesite" / "urls.py"
    urls.write_text(
        urls.read_text().replace("from django.urls import path", "from django.urls import path\n\nfrom . import views")
        + 'urlpatterns.append(path("rows/", views.rows))\n'
    )
    _manage(python, directory, "migrate", "--no-input", "-v0")
    session = _manage(python, directory, "shell", "-c", SESSION.format(name="Page Visitor")).split()[-1]
    return Site(python, directory, "pagesite.wsgi", "/rows/", session, "Hello Page Visitor")


# ---------------------------------------------------------------------------------------------
# django-helpdesk's ticket page


def ensure_helpdesk_venv() -> Path:
    """The virtualenv with the pinned django-helpdesk, made (or remade after a change of pins) with pip."""
    python = HELPDESK_VENV / "bin" / "python"
    pins = HELPDESK_VENV / "bench-pins.txt"
    wanted = "\n".join(HELPDESK_REQUIREMENTS)
    if python.exists() and pins.exists() and pins.read_text() == wanted:
        return python
    print(f"Installing {', '.join(HELPDESK_REQUIREMENTS)} into {HELPDESK_VENV}", flush=True)
    _run([sys.executable, "-m", "venv", "--clear", str(HELPDESK_VENV)])
    _run([str(python), "-m", "pip", "install", "--quiet", *HELPDESK_REQUIREMENTS])
    pins.write_text(wanted)
    return python


HELPDESK_SETTINGS = """
INSTALLED_APPS += ["django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk"]
SITE_ID = 1
HELPDESK_TEAMS_MODE_ENABLED = False
LOGIN_URL = "/helpdesk/login/"
"""

HELPDESK_SIGN_IN = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from helpdesk.models import FollowUp, Ticket
user, _ = get_user_model().objects.get_or_create(
    username="bench-staff", defaults={{"is_staff": True, "email": "staff@example.com"}})
user.set_password("a bench password, long enough")
user.save()
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.set_expiry(86400)
session.save()
ticket = Ticket.objects.get(title={title!r})
assert FollowUp.objects.filter(ticket=ticket).count() == {thread}
print(json.dumps({{"session": session.session_key, "ticket": ticket.pk}}))
"""

THREAD_TITLE = "The long thread: 20 follow-ups"


def _load_helpdesk(database_url: str, tickets: int) -> None:
    """One queue, `tickets` tickets with two follow-ups each, and the measured ticket with THREAD: bulk SQL."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("DROP TABLE IF EXISTS bench_loaded")
        cursor.execute("TRUNCATE helpdesk_followup, helpdesk_ticket, helpdesk_queue CASCADE")
        cursor.execute(
            """INSERT INTO helpdesk_queue (title, slug, allow_public_submission, allow_email_submission, email_box_ssl,
                   enable_notifications_on_email_events)
               VALUES ('Support', 'support', false, false, false, false) RETURNING id"""
        )
        queue = cursor.fetchone()[0]
        cursor.execute(
            """INSERT INTO helpdesk_ticket (title, queue_id, created, modified, submitter_email, status, on_hold,
                   description, priority, secret_key)
               SELECT 'Question about booking ' || g, %s, t.at, t.at + interval '1 hour',
                      'c' || g %% 100000 || '@example.com', 1 + g %% 4, false,
                      'Hello, I have a question about my booking ' || g, 3, md5(g::text)
               FROM generate_series(1, %s) g,
                    LATERAL (SELECT now() - random() * interval '3 years' + g * interval '0 s' AS at) t""",
            [queue, tickets],
        )
        cursor.execute(
            "UPDATE helpdesk_ticket SET title = %s WHERE id = (SELECT max(id) FROM helpdesk_ticket)", [THREAD_TITLE]
        )
        cursor.execute(
            """INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public)
               SELECT t.id, t.created + i * interval '1 hour', CASE WHEN i = 1 THEN 'Ticket Opened' ELSE 'Comment' END,
                      'Follow-up ' || i || ': a line or two of ordinary text about the question.', true
               FROM helpdesk_ticket t,
                    LATERAL generate_series(1, CASE WHEN t.title = %s THEN %s ELSE 2 END) i""",
            [THREAD_TITLE, THREAD],
        )
        cursor.execute("CREATE TABLE bench_loaded (tickets integer NOT NULL)")
        cursor.execute("INSERT INTO bench_loaded VALUES (%s)", [tickets])
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ANALYZE")
    print(f"django-helpdesk's database loaded in {time.monotonic() - started:.0f} s", flush=True)


def _helpdesk_loaded(database_url: str) -> int | None:
    import psycopg

    with psycopg.connect(database_url) as connection:
        if not connection.execute("SELECT to_regclass('bench_loaded') IS NOT NULL").fetchone()[0]:
            return None
        row = connection.execute("SELECT tickets FROM bench_loaded").fetchone()
        return row[0] if row else None


def prepare_helpdesk(directory: Path, database_url: str, tickets: int = HELPDESK_TICKETS) -> Site:
    python = ensure_helpdesk_venv()
    _ensure_database(database_url)
    _startproject(python.parent / "django-admin", "helpdesksite", directory, database_url, HELPDESK_SETTINGS)
    urls = directory / "helpdesksite" / "urls.py"
    urls.write_text(
        urls.read_text().replace("from django.urls import path", "from django.urls import include, path")
        + 'urlpatterns.append(path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")))\n'
    )
    _manage(python, directory, "migrate", "--no-input", "-v0")
    if _helpdesk_loaded(database_url) != tickets:
        print(f"Loading django-helpdesk's database with {tickets:,} tickets: minutes, once.", flush=True)
        _load_helpdesk(database_url, tickets)
    answer = json.loads(
        _manage(python, directory, "shell", "-c", HELPDESK_SIGN_IN.format(title=THREAD_TITLE, thread=THREAD))
        .strip()
        .splitlines()[-1]
    )
    return Site(
        python,
        directory,
        "helpdesksite.wsgi",
        f"/helpdesk/tickets/{answer['ticket']}/",
        answer["session"],
        f"Follow-up {THREAD}:",
    )
