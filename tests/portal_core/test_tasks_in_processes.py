"""Background work survives its processes: real web and worker processes on loopback, killed with SIGKILL.

They share the test database, so these run on PostgreSQL (the in-memory SQLite test database is the test
process's alone). Every wait is bounded; nothing leaves 127.0.0.1.
"""

import asyncio
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from outbox.models import OutboxEmail
from outbox.services import email_enqueue
from tests.factories import CustomerFactory, OrganisationFactory
from tests.outbox.mail_servers import smtp_server_with_handler
from tests.smtp import RecordingHandler, SmtpServer, text_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the web and worker processes share the test database, which needs PostgreSQL")


def portal_env(smtp_port: int, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal_project.settings",
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "CACHE_URL": "locmemcache://",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "EMAIL_TIMEOUT": "30",
        "SITE_URL": "http://127.0.0.1:8000",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def manage(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


def run_worker_until_idle(env: dict[str, str]) -> None:
    worker = "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0"
    subprocess.run(manage(*worker), env=env, cwd=ROOT, check=True, timeout=60, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)


def answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


def post_form(port: int, path: str, data: dict[str, str]) -> http.client.HTTPResponse:
    """GET the page for its CSRF cookie and token, then POST the form as a browser would; no redirect followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    page = conn.getresponse()
    html = page.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = "&".join(f"{key}={value}" for key, value in {**data, "csrfmiddlewaretoken": token}.items())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookie}"}
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


def test_a_password_link_requested_just_before_the_web_process_is_killed_still_arrives(smtp_server):
    organisation = OrganisationFactory()
    customer = CustomerFactory(organisation=organisation)
    env, port = portal_env(smtp_server.port), free_port()
    web = subprocess.Popen(
        manage("runserver", f"127.0.0.1:{port}", "--noreload"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: answers(port), timeout=30, what="the web process")
        response = post_form(port, f"/{organisation.slug}/password/", {"email": customer.email})
        web.send_signal(signal.SIGKILL)  # right after the answer: no thread of it may finish anything
        assert response.status == 302 and response.getheader("Location") == f"/{organisation.slug}/password/sent/"
    finally:
        web.kill()
        web.wait(10)
    assert smtp_server.messages == [] and not OutboxEmail.objects.exists()
    assert DBTaskResult.objects.get().status == "READY"

    run_worker_until_idle(env)

    [message] = smtp_server.messages_to(customer.email)
    assert f"/{organisation.slug}/password/link/" in text_of(message)
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.SENT
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@dataclass
class StallsOnceHandler(RecordingHandler):
    """Takes the first email's DATA and never answers it (the sender waits for a "250" that doesn't come);
    records every later one."""

    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):
        if not self.stalled.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Gave up on a sender that went away"  # never recorded: never accepted
        return await super().handle_DATA(server, session, envelope)


def test_an_email_whose_worker_is_killed_mid_delivery_is_delivered_once_after_restart(database_tasks):
    server: SmtpServer = smtp_server_with_handler(StallsOnceHandler())
    organisation = OrganisationFactory()
    customer = CustomerFactory.build(organisation=organisation, name="Ana")
    email = email_enqueue(  # the email and its delivery task, committed together
        organisation=organisation,
        to="ana@example.com",
        template="portal_auth/emails/password_changed",
        context={"customer": customer, "sign_in_link": "https://portal.example.test/x/sign-in/"},
    )
    # Interrupted work counts as such after a second here, instead of the default fifteen minutes.
    env = portal_env(server.port, OUTBOX_SENDING_STALE_AFTER="1", TASKS_RUNNING_STALE_AFTER="1")
    worker = subprocess.Popen(
        manage("db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.handler.stalled.wait(30), "the worker never reached the mail server"
        worker.send_signal(signal.SIGKILL)  # in the middle of delivery: DATA sent, no answer yet
        worker.wait(10)
    finally:
        worker.kill()
        server.handler.release.set()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENDING and server.messages == []
    assert DBTaskResult.objects.get().status == "RUNNING"

    until(lambda: time.time() > email.claimed_at.timestamp() + 1.5, timeout=5, what="the claim to go stale")
    run_worker_until_idle(env)  # the restarted worker alone: the task is still marked running
    subprocess.run(manage("send_outbox"), env=env, cwd=ROOT, check=True, timeout=60, capture_output=True)
    run_worker_until_idle(env)  # and the task made ready again finds the email sent: nothing more

    try:
        [message] = server.messages
    finally:
        server.stop()
    email.refresh_from_db()
    assert message["Message-ID"] == email.message_id
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
