import os
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connections
from django.db.utils import load_backend

from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


@dataclass
class LivePortal:
    """The portal served by gunicorn (gunicorn.conf.py) in a process of its own, on its own SQLite file."""

    base_url: str
    database: Path
    log: Path
    smtp: SmtpServer
    env: dict
    organisation: str = "demo"
    customers: list[str] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)  # a real process starting: nothing to freeze
    raise AssertionError("gunicorn did not become ready")


@pytest.fixture(scope="package")
def live_portal_on_sqlite(tmp_path_factory):
    """`make run`'s setup (DEBUG, SQLite, a task worker beside the web server) served as gunicorn.conf.py says.

    Its emails go to a real SMTP server in this process. Whatever database the tests use (PostgreSQL in CI),
    this portal has its own SQLite file, so SQLite's behaviour under a web server's concurrency is what runs.
    """
    folder = tmp_path_factory.mktemp("live-portal")
    smtp = SmtpServer()
    smtp.start()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "DJANGO_SETTINGS_MODULE": "portal_project.settings",
        "DEBUG": "true",
        "SECRET_KEY": "live-portal-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "SITE_URL": base_url,
        "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "MEDIA_ROOT": str(folder / "media"),
        # Every request comes from 127.0.0.1 here: only the per-address limit is lifted.
        "RATE_LIMIT_PASSWORD_LINK": "1000/h/ip,3/h/key",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        "GUNICORN_CLIENT_TIMEOUT": "3",
        "LOG_LEVEL": "INFO",
    }
    portal = LivePortal(
        base_url=base_url, database=folder / "portal.sqlite3", log=folder / "server.log", smtp=smtp, env=env
    )
    portal.customers = [f"customer{number:02d}@example.com" for number in range(20)]
    # `manage.py migrate --no-input`, `manage.py createcachetable`, then the demo's rows: in one process, since each
    # start of one (Python, Django, the portal's apps) costs a second.
    portal.manage(
        "shell",
        "-c",
        "from django.core.management import call_command;"
        "call_command('migrate', interactive=False, skip_checks=False);"
        "call_command('createcachetable');"
        "from portal_auth.models import Customer, Organisation;"
        f"o = Organisation.objects.create(name='Demo', slug='{portal.organisation}');"
        f"[Customer.objects.create(organisation=o, email=e) for e in {portal.customers!r}]",
    )
    worker_command = ["manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
    with portal.log.open("w") as log, (folder / "worker.log").open("w") as worker_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, *worker_command], cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(base_url, process)
        yield portal
    finally:
        for running in (process, worker):
            running.terminate()
        for running in (process, worker):
            try:
                running.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()
        smtp.stop()


@pytest.fixture
def connection_the_server_will_drop(transactional_db):
    """This thread's requests use a connection of their own, whose server process can be ended at will.

    The fixture's value ends it, and returns once the server has said so on the connection's socket. What the test
    writes through that connection is committed at once, so the tables are emptied after it (`transactional_db`).
    """
    original = connections["default"]
    if original.vendor != "postgresql":
        pytest.skip("ends a PostgreSQL server process")
    own = load_backend(original.settings_dict["ENGINE"]).DatabaseWrapper({**original.settings_dict}, alias="default")
    own.ensure_connection()

    def drop():
        with original.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [own.connection.info.backend_pid])
        readable, _, _ = select.select([own.connection.pgconn.socket], [], [], 10)
        assert readable, "the server did not end the connection"

    connections["default"] = own
    yield drop
    own.close()
    connections["default"] = original
