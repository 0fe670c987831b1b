"""Measure password sign-ins: argon2 checks a second, and a sign-in storm against gunicorn.

1. One argon2id verification, timed with Django's default parameters (m=100 MiB, t=2, p=8) and the
   portal's (m=19 MiB, t=2, p=1), on one thread and on as many threads as there are cores.
2. gunicorn (`gunicorn -c gunicorn.conf.py`) on 127.0.0.1 against PostgreSQL with a seeded organisation:
   a signed-in page is timed alone (idle), then while N clients post right and wrong passwords for a few
   seconds (the storm). Rate limits are raised for the run through RATE_LIMIT_SIGN_IN_FAILED.

Only loopback is ever contacted; every phase is bounded in time and the server is stopped at the end.

    # In DATABASE_URL's name + _storm (portal_bench_storm here), dropped and recreated:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/sign_in_storm.py
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import environment, free_port, prepare_database, wait_until_up  # noqa: E402

PASSWORD = "correct horse battery staple"
CUSTOMERS = 20

SEED = r"""
import datetime, json
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from portal_auth.models import Organisation
from portal_auth.services import customer_get_or_create
from portal_auth import sessions
from bookings.models import Booking, Attendee

organisation = Organisation.objects.create(name="Storm Travel", slug="storm")
today = datetime.date.today()
for number in range({customers}):
    customer = customer_get_or_create(organisation=organisation, email=f"storm{{number}}@example.com", name="Storm")
    customer.set_password({password!r})
    customer.save()
    booking = Booking.objects.create(organisation=organisation, title=f"Trip {{number}}",
        starts_on=today + datetime.timedelta(days=number), ends_on=today + datetime.timedelta(days=number + 3))
    Attendee.objects.create(booking=booking, name="Storm", email=customer.email)
session = SessionStore()
session[sessions.SESSION_CUSTOMER] = customer.pk
session[sessions.SESSION_VERSION] = customer.session_version
session[sessions.SESSION_METHOD] = "bench"
session[sessions.SESSION_EXPIRES] = int((timezone.now() + datetime.timedelta(days=1)).timestamp())
session.set_expiry(86400)
session.save()
print(json.dumps({{"session": session.session_key}}))
"""


def checks_per_second(hasher, threads: int, seconds: float = 3.0) -> float:
    encoded = hasher.encode(PASSWORD, hasher.salt())
    deadline = time.monotonic() + seconds

    def verify_until_deadline() -> int:
        done = 0
        while time.monotonic() < deadline:
            hasher.verify(PASSWORD, encoded)
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: verify_until_deadline(), range(threads)))
    return total / (time.monotonic() - started)


def measure_hashers() -> None:
    from django.conf import settings

    settings.configure(PASSWORD_HASHING_CONCURRENCY=0)  # argon2 alone: no per-process bound on the threads
    from django.contrib.auth.hashers import Argon2PasswordHasher

    from portal_auth.hashers import PortalArgon2PasswordHasher

    cores = os.cpu_count() or 1
    print(f"\n{'argon2id verification':<40}{'1 thread /s':>14}{f'{cores} threads /s':>14}")
    for name, hasher in [
        ("Django default m=102400,t=2,p=8", Argon2PasswordHasher()),
        ("portal m=19456,t=2,p=1", PortalArgon2PasswordHasher()),
    ]:
        print(f"{name:<40}{checks_per_second(hasher, 1):>14.1f}{checks_per_second(hasher, cores):>14.1f}")


def seed(env: dict) -> dict:
    import json

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(customers=CUSTOMERS, password=PASSWORD)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


class Client:
    """One keep-alive connection to the server on loopback."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                return response, response.read()
            except (http.client.HTTPException, OSError):
                # gunicorn closed the keep-alive connection (or recycled its worker): one retry on a new one.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def sign_in_form(client: Client) -> tuple[str, str]:
    response, body = client.request("GET", "/storm/sign-in/")
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    return cookie, token


def storm(port: int, clients: int, seconds: float, stop: threading.Event, results: dict) -> None:
    """Each client posts, one after another, a right then a wrong password for its own customer."""
    from urllib.parse import urlencode

    deadline = time.monotonic() + seconds

    def one_client(number: int) -> None:
        client = Client(port)
        cookie, token = sign_in_form(client)
        email = f"storm{number % CUSTOMERS}@example.com"
        right = True
        while time.monotonic() < deadline and not stop.is_set():
            body = urlencode(
                {"csrfmiddlewaretoken": token, "email": email, "password": PASSWORD if right else PASSWORD + "!"}
            )
            headers = {"Cookie": f"csrftoken={cookie}", "Content-Type": "application/x-www-form-urlencoded"}
            response, _ = client.request("POST", "/storm/sign-in/", body, headers)
            expected = 302 if right else 200
            key = "right" if right else "wrong"
            results[key if response.status == expected else f"unexpected {response.status}"] += 1
            right = not right

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    results["seconds"] = time.monotonic() - started


def page_latencies(port: int, session: str, seconds: float) -> list[float]:
    client = Client(port)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        response, _ = client.request("GET", "/storm/bookings/", headers={"Cookie": f"sessionid={session}"})
        latencies.append((time.monotonic() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"The signed-in page answered {response.status}.")
    return latencies


def server_cpu_seconds(master: int) -> float:
    """CPU time (user + system) of gunicorn's workers so far: what each sign-in costs, whatever else the cores run."""
    total = 0.0
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="Concurrent sign-in clients (default 32).")
    parser.add_argument("--seconds", type=float, default=10, help="Length of the storm (default 10).")
    parser.add_argument("--hashers-only", action="store_true", help="Only the hasher timings, not the storm.")
    parser.add_argument("--skip-hashers", action="store_true", help="Only the storm, not the hasher timings.")
    args = parser.parse_args()

    if not args.skip_hashers:
        measure_hashers()
    if args.hashers_only:
        return

    port = free_port()
    env = environment(port)
    # A database of its own, dropped and recreated: never the one `make bench` loads once and keeps.
    env["DATABASE_URL"] += "_storm"
    env.update(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_ACCESS_LOG="/dev/null",
        # Far above what the storm sends, so every post is a real password check.
        RATE_LIMIT_SIGN_IN_FAILED="1000000/5m/ip,1000000/5m/key",
    )
    prepare_database(env)
    session = seed(env)["session"]
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=ROOT, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        page_latencies(port, session, 1)  # warm every worker's first request
        cpu_before = server_cpu_seconds(server.pid)
        idle = page_latencies(port, session, 5)
        cpu_per_page = (server_cpu_seconds(server.pid) - cpu_before) / len(idle)
        results: defaultdict[str, float] = defaultdict(int)
        stop = threading.Event()
        storm_thread = threading.Thread(target=storm, args=(port, args.clients, args.seconds, stop, results))
        cpu_before = server_cpu_seconds(server.pid)
        storm_thread.start()
        time.sleep(1)  # let the storm build up before timing the page
        during = page_latencies(port, session, args.seconds - 2)
        storm_thread.join(args.seconds + 60)
        stop.set()
        # What the page's own requests cost during the storm is not the sign-ins'.
        cpu = server_cpu_seconds(server.pid) - cpu_before - cpu_per_page * len(during)
    finally:
        server.terminate()
        server.wait(timeout=30)

    checks = results["right"] + results["wrong"]
    bound = env.get("PASSWORD_HASHING_CONCURRENCY", "default")
    print(f"\nsign-in storm: {args.clients} clients, {results['seconds']:.1f} s, hashes at once per worker: {bound}")
    print(
        f"  sign-ins checked: {checks} ({checks / results['seconds']:.1f}/s), right {results['right']}, wrong "
        f"{results['wrong']}, other {sum(v for k, v in results.items() if k.startswith('unexpected'))}"
    )
    capacity = (os.cpu_count() or 1) / cpu * checks
    print(
        f"  gunicorn workers' CPU: {cpu * 1000 / checks:.1f} ms a sign-in, so {capacity:.0f} sign-ins/s"
        " if the cores ran nothing else (the database not counted)"
    )
    print(f"\n{'signed-in page (/storm/bookings/)':<36}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in [("idle", idle), ("during the storm", during)]:
        print(f"{name:<36}{len(values):>10}{percentile(values, 0.5):>10.1f}{percentile(values, 0.95):>10.1f}")


if __name__ == "__main__":
    main()
