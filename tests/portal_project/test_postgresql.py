"""portal_project/postgresql: Django's PostgreSQL backend whose health check sends nothing to the server."""

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend")


def test_queries_are_planned_without_parallel_workers(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone() == ("0",)


def test_a_standing_connection_passes_the_health_check_without_a_query(connection_the_server_will_drop, monkeypatch):
    own = connections["default"]

    def no_query(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(own.connection, "cursor", no_query)
    monkeypatch.setattr(own.connection, "execute", no_query)

    assert own.is_usable()


def test_a_connection_whose_transaction_failed_fails_the_health_check(connection_the_server_will_drop):
    own = connections["default"]
    with transaction.atomic(using="default"):
        assert own.is_usable()
        with pytest.raises(DatabaseError), own.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

        assert not own.is_usable()
        transaction.set_rollback(True, using="default")
    assert own.is_usable()


def test_a_connection_the_server_ended_fails_the_health_check(connection_the_server_will_drop):
    connection_the_server_will_drop()

    assert not connections["default"].is_usable()


def test_the_next_request_after_the_server_ended_its_connection_is_served(
    connection_the_server_will_drop, organisation
):
    own = connections["default"]
    ended_pid = own.connection.info.backend_pid
    connection_the_server_will_drop()
    # What Django does as each request starts (the test client leaves it out).
    own.close_if_unusable_or_obsolete()

    response = Client().get(f"/{organisation.slug}/sign-in/")

    assert response.status_code == 200
    assert own.connection.info.backend_pid != ended_pid
