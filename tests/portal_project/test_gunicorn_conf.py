"""gunicorn.conf.py as deployed: slow clients don't take the portal down, and the access log holds no token."""

import http.client
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import pytest

SECRET = "S3cr3tT0kenValue"


def slow_client(stack: ExitStack, port: int, opening: bytes) -> socket.socket:
    """A client that sends the start of a request and then nothing: it stays connected until the test ends."""
    client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
    client.sendall(opening)
    return client


def timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=15) as response:
        response.read()
        return response.status, time.monotonic() - started


def test_slow_clients_do_not_keep_other_customers_from_being_served(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    port = int(portal.base_url.rsplit(":", 1)[1])
    sign_in = f"/{portal.organisation}/sign-in/"
    with ExitStack() as stack:
        # Eight slow clients, as many as a worker has threads (four sync workers would all be stuck): four send
        # nothing at all, two stall half-way through their headers and two half-way through a form's body. These
        # last hold a thread each until cut off (GUNICORN_CLIENT_TIMEOUT; the reverse proxy spares even that).
        for _ in range(4):
            slow_client(stack, port, b"")
        for _ in range(2):
            slow_client(stack, port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
        for _ in range(2):
            slow_client(
                stack,
                port,
                f"POST {sign_in} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nemail=".encode(),
            )

        health, health_seconds = timed_get(f"{portal.base_url}/healthz")
        page, page_seconds = timed_get(f"{portal.base_url}{sign_in}")

    assert (health, page) == (200, 200)
    # gthread gives a silent connection 5 s before handing it back to its poller: slower, but served.
    assert health_seconds < 10 and page_seconds < 10


def test_the_access_log_of_the_running_server_holds_no_token(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    organisation = portal.organisation
    for path in [
        f"/{organisation}/support/portal/{SECRET}",
        f"/{organisation}/password/link/{SECRET}/",
        f"/{organisation}/sign-in/external/?externalToken={SECRET}",
    ]:
        try:
            urllib.request.urlopen(f"{portal.base_url}{path}", timeout=15).close()
        except urllib.error.HTTPError:
            pass  # where the page answers does not matter here, only what the log says

    log = portal.server_log()
    assert f'"GET /{organisation}/support/portal/[redacted] HTTP/1.1"' in log
    assert f'"GET /{organisation}/password/link/[redacted]/ HTTP/1.1"' in log
    assert SECRET not in log


def test_a_chunked_body_is_refused_by_the_running_server_with_411(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    port = int(portal.base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(
            "POST",
            f"/{portal.organisation}/sign-in/",
            body=iter([b"email=someone%40example.com"]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        page = response.read().decode()
    finally:
        connection.close()

    assert response.status == 411
    assert "It did not say how long it was" in page


def test_a_body_over_the_limit_is_refused_by_the_running_server_before_it_is_sent(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    port = int(portal.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=15) as client:
        # 200 MB announced, not a byte of it sent: the answer comes anyway.
        client.sendall(
            f"POST /{portal.organisation}/sign-in/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = client.recv(65536).decode(errors="replace")

    assert answer.startswith("HTTP/1.1 413 ")


def test_a_client_stalling_half_way_through_its_request_is_cut_off(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    port = int(portal.base_url.rsplit(":", 1)[1])
    openings = [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow",
        f"POST /{portal.organisation}/sign-in/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".encode()
        + b"email=",
    ]
    with ExitStack() as stack:
        # Both stall at once, each holding a thread of the server: the cut-offs are waited for together.
        stalled = []
        for opening in openings:
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=15))
            client.sendall(opening)
            stalled.append((client, time.monotonic()))
        for client, started in stalled:
            try:
                while client.recv(65536):
                    pass  # whatever the server says before closing
            except ConnectionResetError:
                pass

            # The live portal runs with GUNICORN_CLIENT_TIMEOUT=3: the thread is free again a few seconds later.
            assert time.monotonic() - started < 10


def test_a_client_socket_keeps_blocking_reads_and_the_kernel_cuts_a_stalled_one_off(monkeypatch):
    from portal_project import gunicorn_worker

    monkeypatch.setattr(gunicorn_worker, "CLIENT_TIMEOUT_SECONDS", 0.3)
    server_side, client_side = socket.socketpair()
    with client_side, gunicorn_worker._DeadlineSocket(fileno=server_side.detach()) as wrapped:
        wrapped.setblocking(True)
        wrapped.arm()
        # Blocking for Python (no poll before each read, as a socket timeout would add): the deadline is the kernel's.
        assert (wrapped.getblocking(), wrapped.gettimeout()) == (True, None)
        client_side.sendall(b"GET / HT")
        assert wrapped.recv(100) == b"GET / HT"
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):
            wrapped.recv(100)
        assert 0.2 < time.monotonic() - started < 3
        # gthread's own non-blocking reads, while it waits for a request, still say there is nothing yet.
        wrapped.setblocking(False)
        with pytest.raises(BlockingIOError):
            wrapped.recv(100)


def test_workers_replaced_under_load_leave_no_request_unanswered(live_portal_on_sqlite, tmp_path):
    """Workers replaced after max_requests (gunicorn.conf.py) take no connection down with them: eight clients open a
    new connection for each request while both workers are replaced every few dozen requests. (With reuse_port,
    each worker listening on a socket of its own, the port refused connections whenever both were replaced at
    once: the master holds no socket then.)"""
    from concurrent.futures import ThreadPoolExecutor

    from tests.portal_project.conftest import ROOT, _free_port, _wait_until_ready

    port = _free_port()
    env = {**live_portal_on_sqlite.env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--max-requests", "40"]
    with (tmp_path / "server.log").open("w") as log:
        server = subprocess.Popen(
            [*command, "--max-requests-jitter", "0"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", server)

        def requests(count: int) -> list[str]:
            failures = []
            for _ in range(count):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=15) as response:
                        if response.status != 200:
                            failures.append(str(response.status))
                except (OSError, http.client.HTTPException) as error:
                    failures.append(repr(error))
            return failures

        with ThreadPoolExecutor(8) as clients:
            failures = [failure for found in clients.map(requests, [100] * 8) for failure in found]
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (tmp_path / "server.log").read_text()
    replaced = log.count("Autorestarting worker")
    assert replaced >= 10, f"the workers were replaced {replaced} times, too few for the test to mean anything"
    assert failures == []
