import re

import pytest
from asgiref.local import Local
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import setting_changed
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.dispatch import receiver
from django.tasks import task_backends
from django.test import Client

from portal_auth.sessions import portal_sign_in
from portal_core import jinja
from tests.conversations.factories import ConversationFactory
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.smtp import SmtpServer
from tests.tickets.factories import TicketFactory

_NEXT_ITEM = pytest.StashKey["pytest.Item | None"]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The tests of data migrations run one after another, so that the database goes back to the latest migrations
    # once after them all rather than after each (see `migrate`).
    migrating = [item for item in items if "migrate" in getattr(item, "fixturenames", ())]
    if migrating:
        first = items.index(migrating[0])
        others = [item for item in items if item not in migrating]
        items[:] = others[:first] + migrating + others[first:]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With pytest-xdist's --dist loadfile, each worker takes a test file at a time; these go to one worker together.

    tests/portal_project/ shares a live portal, a package fixture each worker would start again (gunicorn and a
    migrated SQLite file, seconds of CPU), and the test_migrations.py files share a database migrated back (`migrate`).
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("tests/portal_project/"):
                return "tests/portal_project/"
            return "test_migrations.py" if path.endswith("/test_migrations.py") else path

    return FilesTogether(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    item.stash[_NEXT_ITEM] = nextitem  # for a fixture's teardown that depends on what runs next


@pytest.fixture
def migrate(request, transactional_db):
    """Migrate the test database to `targets`, as `manage.py migrate` from the latest migrations would; return the
    models as they are there.

    Back to the latest migrations once the last of the tests that use it in a row ends: from one test's state to the
    next is a few migrations, where from the latest and back again is dozens of them, seconds of CPU each time.
    """

    def _migrate(targets: list[tuple[str, str]]):
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        # Django's plan from the latest migrations to `targets` says what is left applied there.
        executor.loader.applied_migrations = dict(graph.nodes)
        unapplied = {(migration.app_label, migration.name) for migration, _ in executor.migration_plan(targets)}
        wanted = set(graph.nodes) - unapplied
        for backwards in (True, False):
            executor = MigrationExecutor(connection)
            applied = set(executor.loader.applied_migrations)
            to_run = applied - wanted if backwards else wanted - applied
            in_order = [migration for migration, _ in executor.migration_plan(graph.leaf_nodes(), clean_start=True)]
            plan = [(migration, backwards) for migration in in_order if (migration.app_label, migration.name) in to_run]
            if plan:
                executor.migrate(targets, plan=plan[::-1] if backwards else plan)
        return MigrationExecutor(connection).loader.project_state(targets).apps

    yield _migrate
    if "migrate" not in getattr(request.node.stash.get(_NEXT_ITEM, None), "fixturenames", ()):
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture(scope="session", autouse=True)
def _tables_emptied_with_delete():
    """After each transactional test pytest-django empties every table, on PostgreSQL with one TRUNCATE: new files
    for some 80 tables and their indexes, 0.2-1 s a test. DELETE empties the few rows a test leaves in milliseconds,
    as Django's SQLite backend does; the tables end as empty, and neither resets a sequence."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        # In one transaction (execute_sql_flush's): foreign keys are checked at its end, when every table is empty.
        delete = [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]
        return ["SET CONSTRAINTS ALL DEFERRED;", *delete] if tables else []

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _fresh_media(settings, tmp_path):
    # Rate-limit counters need no clearing: they are rows, rolled back or flushed with each test's data.
    settings.MEDIA_ROOT = str(tmp_path / "media")


# What a page prints where its template names a method without calling it (Jinja2 calls nothing by itself, Django's
# templates did): the object, escaped like everything a page prints.
_PRINTED_OBJECT = re.compile(r"&lt;(bound method|function|built-in method) |object at 0x[0-9a-f]+&gt;")


@pytest.fixture(autouse=True)
def _pages_print_values_not_objects(monkeypatch):
    render = jinja.Template.render

    def checked(self, context=None, request=None):
        page = render(self, context, request)
        printed = _PRINTED_OBJECT.search(page)
        assert printed is None, f"{self.name} printed an object instead of its value: {printed[0]}"
        return page

    monkeypatch.setattr(jinja.Template, "render", checked)


@pytest.fixture(autouse=True)
def _empty_cache():
    # Pages kept by an earlier test's customer must not answer this one's, whose ids SQLite may reuse.
    cache.clear()


@pytest.fixture
def production_cache(settings, db):
    """The production default: a database cache that keeps 300 entries and swallows its own write errors."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}
    }
    call_command("createcachetable", verbosity=0)
    yield
    cache.clear()


@receiver(setting_changed)
def _forget_task_backends(*, setting, **kwargs):
    # Django keeps each tasks backend for the process's life; a test that changes TASKS wants its own.
    if setting == "TASKS":
        task_backends._settings = None
        task_backends.__dict__.pop("settings", None)
        task_backends._connections = Local(task_backends.thread_critical)


@pytest.fixture
def database_tasks(settings):
    """Tasks wait in the database for a worker, as in production, instead of running at once after commit."""
    from outbox import tasks as outbox_tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    yield
    outbox_tasks._paused_until = 0.0  # the next test's mail server answers


@pytest.fixture
def run_worker(database_tasks, monkeypatch):
    """Run `db_worker` in this process until no task is ready; return how many tasks it ran."""
    # It would close the connection holding the test's transaction, as a request's end would; tests keep it.
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    def _run() -> int:
        from django_tasks_db.models import DBTaskResult

        before = DBTaskResult.objects.exclude(status="READY").count()
        call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0", verbosity=0)
        return DBTaskResult.objects.exclude(status="READY").count() - before

    return _run


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory()


@pytest.fixture
def customer(organisation):
    return CustomerFactory(organisation=organisation, with_password=True)


@pytest.fixture
def other_customer(organisation):
    """Another customer of the same organisation: must never see the first one's conversations or tickets."""
    return CustomerFactory(organisation=organisation)


@pytest.fixture
def stranger(organisation):
    """Another customer of the same organisation."""
    return CustomerFactory(organisation=organisation, email="stranger@example.com")


@pytest.fixture
def conversation(customer):
    return ConversationFactory(customer=customer)


@pytest.fixture
def make_ticket(organisation, customer):
    def _make(**kwargs):
        kwargs.setdefault("organisation", organisation)
        if "requester" not in kwargs:
            kwargs["requester"] = customer if kwargs["organisation"] == organisation else None
        if kwargs["requester"] is None:
            kwargs["requester"] = CustomerFactory(organisation=kwargs["organisation"])
        return TicketFactory(**kwargs)

    return _make


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def admin_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def staff_client_with(db):
    """A client signed in as a staff member, not a superuser, who holds only the named permissions ("app.codename")."""

    def _client(*permissions: str) -> Client:
        staff = StaffUserFactory(is_superuser=False)
        for permission in permissions:
            app_label, codename = permission.split(".")
            staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(staff)
        return client

    return _client


def admin_page_data(response) -> dict:
    """What an admin change page posts back when saved as shown: its form's and its inline formsets' values."""
    data: dict = {}

    def add(form) -> None:
        for name in form.fields:
            bound = form[name]
            value = bound.value()
            if value is None or value is False:
                continue
            if isinstance(value, list | tuple):
                data[bound.html_name] = [str(getattr(v, "pk", v)) for v in value]
            else:
                data[bound.html_name] = "on" if value is True else str(getattr(value, "pk", value))

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": str(value) for key, value in formset.management_form.initial.items()})
        for form in formset.forms:
            add(form)
    return data


@pytest.fixture
def sign_in():
    """Return a client signed in to the portal as the given customer (the door does not matter)."""

    def _sign_in(customer, client=None, method="password"):
        client = client or Client()
        request = _SessionRequest(client)
        portal_sign_in(request, customer, method=method)
        request.save()
        return client

    return _sign_in


class _SessionRequest:
    """Just enough of a request to open a portal session for a test client."""

    def __init__(self, client):
        from importlib import import_module

        from django.conf import settings

        self.client = client
        self.session = import_module(settings.SESSION_ENGINE).SessionStore()
        self.META = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "pytest"}

    def save(self):
        from django.conf import settings

        self.session.save()
        self.client.cookies[settings.SESSION_COOKIE_NAME] = self.session.session_key


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django sends to it."""
    server = SmtpServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    yield server
    server.stop()


def link_in(text: str, path_contains: str) -> str:
    """The first absolute link in `text` whose path contains `path_contains`."""
    for url in re.findall(r"https?://[^\s\"'<>]+", text):
        if path_contains in url:
            return url
    raise AssertionError(f"No link containing {path_contains!r} in:\n{text}")


def assert_link_signs_in_once(email, *, customer, lands_on: str, link_path: str) -> None:
    """What a notification email's sign-in link must do, checked end to end.

    The link (in both parts of `email`, under `link_path`) opens a page that names the account and signs in
    nobody; its button signs `customer` in and lands on `lands_on`; the token is stored only as its hash,
    lasts 30 days and is logged; the outbox's copy no longer holds it; a second use is refused.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from outbox.models import OutboxEmail
    from portal_auth.models import AccessEvent, CustomerToken, hash_token
    from portal_auth.sessions import SESSION_CUSTOMER

    link = link_in(email.body, link_path)
    assert link in email.alternatives[0].content
    raw = link.rsplit("/", 1)[1]
    token = CustomerToken.objects.get(token_hash=hash_token(raw))
    assert (token.customer, token.purpose, token.next_path) == (customer, CustomerToken.Purpose.SIGN_IN_LINK, lands_on)
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_SENT, token=token).count() == 1
    stored = OutboxEmail.objects.get(to=customer.email, subject=email.subject)
    assert stored.status == OutboxEmail.Status.SENT
    assert raw not in stored.body_text + stored.body_html + str(stored.secrets)

    path = link.removeprefix(settings.SITE_URL)
    confirm = path.rsplit("/", 1)[0] + "/open/"
    client = Client()
    assert client.get(path)["Location"] == confirm
    page = client.get(confirm)
    assert page.status_code == 200
    assert f"<strong>{customer.email}</strong>" in page.content.decode()
    assert SESSION_CUSTOMER not in client.session  # the page alone (or a mail scanner) opens nothing
    pressed = client.post(confirm, as_shown(client, confirm))
    assert pressed.status_code == 302
    assert pressed["Location"] == lands_on
    assert client.session[SESSION_CUSTOMER] == customer.pk
    assert client.get(lands_on).status_code == 200
    token.refresh_from_db()
    assert token.used_at is not None
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_USED, token=token).count() == 1

    again = Client()
    assert again.get(path)["Location"] == confirm
    refused = again.post(confirm, as_shown(again, confirm))
    assert refused.status_code == 302
    assert SESSION_CUSTOMER not in again.session
    assert "This link no longer works" in again.get(refused["Location"]).content.decode()
    event = AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_REFUSED, token=token).get()
    assert event.reason == "used link"


def assert_plain_link(email, *, path: str) -> None:
    """With the organisation's setting off, the email links to the page itself, behind sign-in, and no token exists."""
    from django.conf import settings

    from portal_auth.models import CustomerToken

    assert settings.SITE_URL + path in email.body
    assert settings.SITE_URL + path in email.alternatives[0].content
    assert "You'll be asked to sign in first." in email.alternatives[0].content
    assert not CustomerToken.objects.exists()


def as_shown(client, path: str, data: dict | None = None) -> dict:
    """A POST's data from an emailed link's page as the browser shows it: with the proof of the link it named."""
    from portal_auth.doors.access_link.views import TOKEN_SESSION_KEY
    from portal_auth.doors.landing import landed_token_proof
    from portal_auth.doors.password.views import PASSWORD_TOKEN_SESSION_KEY

    key = PASSWORD_TOKEN_SESSION_KEY if path.endswith("/password/set/") else TOKEN_SESSION_KEY
    return {**(data or {}), "link": landed_token_proof(client.session.get(key, ""))}
