"""Measure the portal's speed: requests per second of signed-in pages against a bare Django view.

Starts gunicorn (2 workers) on 127.0.0.1 against PostgreSQL, seeds an organisation with a
customer holding many bookings, tickets and conversations, then loads each page with wrk
(Debian's `wrk` package) for a few seconds. Only loopback is ever contacted; it stops by itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/run.py
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(port: int) -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
    env.update(
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"http://127.0.0.1:{port}",
        EMAIL_URL="consolemail://",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    return env


def prepare_database(env: dict) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import psycopg,os,re; url=os.environ['DATABASE_URL']; name=url.rsplit('/',1)[1];"
            "c=psycopg.connect(url.rsplit('/',1)[0]+'/postgres', autocommit=True);"
            "c.execute(f'DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)'); c.execute(f'CREATE DATABASE \"{name}\"')",
        ],
        env=env,
        check=True,
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createcachetable"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


SEED = r"""
import datetime, json
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from portal_auth.models import Organisation
from portal_auth.services import customer_get_or_create
from portal_auth import sessions
from bookings.models import Booking, Attendee

organisation = Organisation.objects.create(name="Bench Travel", slug="bench")
customer = customer_get_or_create(organisation=organisation, email="bench@example.com", name="Bench Customer")
today = datetime.date.today()
for number in range({bookings}):
    booking = Booking.objects.create(organisation=organisation, title=f"Trip {{number}}",
        starts_on=today + datetime.timedelta(days=number - {bookings} // 2),
        ends_on=today + datetime.timedelta(days=number - {bookings} // 2 + 3))
    Attendee.objects.create(booking=booking, name="Bench Customer", email=customer.email)
    Attendee.objects.create(booking=booking, name=f"Friend {{number}}", email=f"friend{{number}}@example.com")
first = Booking.objects.filter(organisation=organisation).first()
session = SessionStore()
session[sessions.SESSION_CUSTOMER] = customer.pk
session[sessions.SESSION_VERSION] = customer.session_version
session[sessions.SESSION_METHOD] = "bench"
session[sessions.SESSION_EXPIRES] = int((timezone.now() + datetime.timedelta(days=1)).timestamp())
session.set_expiry(86400)
session.save()
print(json.dumps({{"session": session.session_key, "booking": first.reference}}))
"""


def seed(env: dict, bookings: int) -> dict:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(bookings=bookings)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_until_up(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The server at {url} did not start.")


def load(url: str, seconds: int, cookie: str | None) -> float:
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: sessionid={cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise SystemExit(f"{url} answered with errors:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8, help="Load each page this long (default 8).")
    parser.add_argument("--bookings", type=int, default=40, help="Bookings the customer attends (default 40).")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("The benchmark needs wrk: apt-get install wrk")

    port = free_port()
    env = environment(port)
    prepare_database(env)
    data = seed(env, args.bookings)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal_project.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(f"{base}/healthz")
        pages = {
            "bare view (/healthz)": (f"{base}/healthz", None),
            "sign-in page (anonymous)": (f"{base}/bench/sign-in/", None),
            "portal home": (f"{base}/bench/", data["session"]),
            f"my bookings ({args.bookings})": (f"{base}/bench/bookings/", data["session"]),
            "one booking": (f"{base}/bench/bookings/{data['booking']}/", data["session"]),
        }
        results = {name: load(url, args.seconds, cookie) for name, (url, cookie) in pages.items()}
    finally:
        server.terminate()
        server.wait(timeout=10)
    bare = results["bare view (/healthz)"]
    print(f"\n{'page':<32}{'req/s':>10}{'× bare':>10}")
    for name, rate in results.items():
        print(f"{name:<32}{rate:>10.0f}{rate / bare:>10.2f}")


if __name__ == "__main__":
    main()
