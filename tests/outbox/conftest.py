import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.outbox.factories import OutboxEmailFactory
from tests.outbox.mail_servers import SilentSmtpServer, smtp_mailers, smtp_server_with_handler


@pytest.fixture
def silent_smtp_server(settings):
    """Django sends to a mail server that never answers, giving up after EMAIL_TIMEOUT = 1 s."""
    server = SilentSmtpServer()
    settings.MAILERS = smtp_mailers(server.port, timeout=1)
    yield server
    server.stop()


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("measures PostgreSQL's own view of its connections")


class DatabaseActivity:
    """Samples, from outside, the connections to the test database and how long their transactions last."""

    def __init__(self) -> None:
        self.database = connection.settings_dict["NAME"]
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        self.params = {**params, "dbname": "postgres", "autocommit": True}
        self.most_connections = 0
        self.longest_transaction = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "DatabaseActivity":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._thread.join(5)

    def connections_now(self) -> int:
        with psycopg.connect(**self.params) as observer:
            return self._look(observer)[0]

    def _sample(self) -> None:
        with psycopg.connect(**self.params) as observer:
            while not self._stopping.is_set():
                connections, longest = self._look(observer)
                self.most_connections = max(self.most_connections, connections)
                self.longest_transaction = max(self.longest_transaction, longest)
                time.sleep(0.01)

    def _look(self, observer: psycopg.Connection) -> tuple[int, float]:
        connections, longest = observer.execute(
            "SELECT count(*), coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) "
            "FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            [self.database],
        ).fetchone()
        return connections, float(longest)


@pytest.fixture
def database_activity(postgres_only):
    return DatabaseActivity


@pytest.fixture
def waiting_emails(organisation):
    def _waiting(count: int, **kwargs):
        return OutboxEmailFactory.waiting(count, organisation=organisation, **kwargs)

    return _waiting


@pytest.fixture
def smtp_server_with(settings):
    """A real SMTP server on loopback whose handler the test chooses (slow, say); Django sends to it."""
    started = []

    def _start(handler):
        server = smtp_server_with_handler(handler)
        started.append(server)
        settings.MAILERS = smtp_mailers(server.port, timeout=5)
        return server

    yield _start
    for server in started:
        server.stop()
