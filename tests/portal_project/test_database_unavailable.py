"""While the database cannot be reached: 503 "we'll be back" pages, /readyz says so, /healthz stays alive."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError, connections
from django.db.utils import load_backend
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from outbox.tasks import outbox_deliver_task
from portal_auth.models import Organisation
from portal_project.middleware import database_is_unreachable


def closed_port() -> int:
    """A port on loopback nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_database(db, tmp_path):
    """The default database, as this thread's requests see it, pointed where no database answers.

    A second connection object replaces the test's own (kept open, with its transaction) until the test ends.
    """
    original = connections["default"]
    settings_dict = {**original.settings_dict}
    if original.vendor == "postgresql":
        settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    else:
        settings_dict["NAME"] = str(tmp_path / "no-such-folder" / "portal.sqlite3")
    unreachable = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias="default")
    connections["default"] = unreachable
    yield
    unreachable.close()
    connections["default"] = original


@pytest.fixture
def visitor():
    return Client(raise_request_exception=False)


def assert_back_soon_page(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "We'll be back in a moment" in html
    assert 'href="/static/portal/portal.css"' in html


def test_a_page_answers_503_while_the_database_cannot_be_reached(visitor, organisation, unreachable_database):
    response = visitor.get(f"/{organisation.slug}/sign-in/")

    assert_back_soon_page(response)


def test_a_form_post_answers_503_while_the_database_cannot_be_reached(visitor, organisation, unreachable_database):
    response = visitor.post(f"/{organisation.slug}/password/", {"email": "ana@example.com"})

    assert_back_soon_page(response)


class QueryingMiddleware:
    """Touches the database before the view, as reading a session or a rate-limit counter does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        Organisation.objects.exists()
        return self.get_response(request)


def test_an_error_raised_outside_the_view_while_the_database_is_down_is_a_503_too(
    visitor, organisation, unreachable_database, settings
):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.portal_project.test_database_unavailable.QueryingMiddleware"]

    response = visitor.get("/")

    assert_back_soon_page(response)


def test_healthz_stays_ok_while_the_database_is_down(visitor, unreachable_database):
    response = visitor.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"


def test_readyz_is_ready_when_database_and_cache_answer(visitor, db):
    response = visitor.get("/readyz")

    assert response.status_code == 200
    assert response.content == b"ready"
    assert "no-cache" in response["Cache-Control"]


def test_readyz_names_the_database_when_it_cannot_be_reached_and_nothing_more(visitor, unreachable_database):
    response = visitor.get("/readyz")

    assert response.status_code == 503
    assert response.content == b"database: unavailable\n"


def test_readyz_names_the_tasks_once_one_has_waited_too_long_for_a_worker(visitor, database_tasks, settings, db):
    settings.TASKS_READY_MAX_WAIT = timedelta(minutes=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        outbox_deliver_task.using(run_after=start + timedelta(hours=1)).enqueue(ids=[])  # a retry, not due yet
        outbox_deliver_task.enqueue(ids=[])
        clock.shift(timedelta(minutes=10))
        assert visitor.get("/readyz").content == b"ready"

        clock.shift(timedelta(seconds=1))
        response = visitor.get("/readyz")
        assert response.status_code == 503
        assert response.content == b"tasks: unavailable\n"

        DBTaskResult.objects.filter(run_after__year=9999).update(status="SUCCESSFUL")  # a worker took it
        assert visitor.get("/readyz").content == b"ready"
        clock.move_to(start + timedelta(hours=1, minutes=1))  # the retry, due for a minute, enqueued an hour ago
        assert visitor.get("/readyz").content == b"ready"
        clock.move_to(start + timedelta(hours=1, minutes=11))
        assert visitor.get("/readyz").status_code == 503


def test_readyz_names_the_cache_when_it_cannot_be_reached(visitor, db):
    port = closed_port()
    unreachable_cache = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}"}
    }
    with override_settings(CACHES=unreachable_cache):
        response = visitor.get("/readyz")

    assert response.status_code == 503
    assert response.content == b"cache: unavailable\n"
    assert str(port).encode() not in response.content


def test_an_error_on_a_working_connection_is_not_taken_for_a_database_down(db):
    connections["default"].ensure_connection()

    # SQLite's "database is locked", PostgreSQL's statement timeout: the connection still works.
    assert not database_is_unreachable(OperationalError("database is locked"))


def test_an_error_on_a_connection_that_could_not_be_made_is_a_database_down(unreachable_database):
    with pytest.raises(OperationalError) as raised:
        connections["default"].ensure_connection()

    assert database_is_unreachable(raised.value)


def test_a_connection_the_database_server_dropped_answers_503(visitor, organisation, connection_the_server_will_drop):
    connection_the_server_will_drop()

    response = visitor.get(f"/{organisation.slug}/sign-in/")

    assert_back_soon_page(response)
