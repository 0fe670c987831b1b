"""`make bench`: the portal's pages at the target scale, beside a bare view, a startproject page and django-helpdesk.

In one run, on 127.0.0.1 only, every server stopped at the end:

1. PostgreSQL database portal_bench (DATABASE_URL's name, if set): `bench/scale.py`'s target scale
   (1,000,000 tickets in the measured organisation) loaded the first time and kept, migrated on
   later runs; the measured customer has 40 bookings, 60 tickets, 30 conversations (bench/portal_data.py).
2. Four gunicorn servers, two workers each: the portal with its page cache (repeat views) and with
   PORTAL_PAGE_CACHE=false (first views), both through gunicorn.conf.py, DEBUG off, Redis as the
   cache (db 5 and 6, flushed first) and sessions in cached_db; a startproject page and django-helpdesk's
   ticket page (bench/comparisons.py).
3. `wrk -t2 -c16` on each page, with the cookies a browser holds after its first visit (the session, the CSRF
   cookie), in three interleaved rounds, the median kept. Any answer that is not
   2xx/3xx, or a page that does not show what it must, stops the run.
4. A sign-in storm (bench/sign_in_storm.py's) while wrk loads a signed-in page.
5. `bench/outbox_throughput.py`: 10,000 portal-link emails into a local SMTP server.

It prints the table with its ratios and the targets, PASS or FAIL each, and writes them to BENCHMARKS.md.
It exits 1 if anything fails to set up or answer; a target missed is only printed, unless --strict.

    .venv/bin/python bench/run.py                   # everything (the first run loads for several minutes)
    .venv/bin/python bench/run.py --quick           # 3 s a page, one round, 1,000 emails; BENCHMARKS.md untouched
    .venv/bin/python bench/run.py --skip-outbox --skip-helpdesk
"""

import argparse
import contextlib
import datetime
import http.cookies
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
REDIS = "redis://127.0.0.1:6379"
REPEAT_REDIS_DB, FIRST_REDIS_DB = 5, 6
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
STORM_CLIENTS = 32

# Targets of issue 13, as ratios measured in one run.
REPEAT_SHARE_OF_BARE = 0.3
REPEAT_TICKET_TIMES_HELPDESK = 5.0
STARTPROJECT_LABEL = "a startproject page, a session and a 20-row template (a connection each request)"
STARTPROJECT_PERSISTENT_LABEL = "the same startproject page with persistent connections"
FIRST_TIMES_HELPDESK = 2.0
SIGN_INS_PER_SECOND = 30.0
EMAILS, EMAILS_SECONDS = 10_000, 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(port: int) -> dict:
    """The portal's production-like environment on loopback (also used by bench/sign_in_storm.py)."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.update(
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY", SECRET_KEY),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=f"http://127.0.0.1:{port}",
        EMAIL_URL="consolemail://",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    return env


def prepare_database(env: dict) -> None:
    """A new empty database at env's DATABASE_URL, migrated (bench/sign_in_storm.py's own database)."""
    import psycopg

    url = env["DATABASE_URL"]
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "createcachetable"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The server at {url} did not start.")


# ---------------------------------------------------------------------------------------------
# Servers


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# Every server alike: no control socket (each would claim the same path), and no worker replaced after
# max_requests during a measurement (gunicorn.conf.py's 5,000 is seconds of a fast page: the restarts
# would be measured, mostly against the bare view). Command-line settings win over the config file.
GUNICORN_BENCH_ARGS = ["--no-control-socket", "--max-requests", "0"]


@contextlib.contextmanager
def serving(name: str, command: list, *, cwd: Path, env: dict, port: int, up_path: str, log: Path) -> Iterator[Server]:
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(name, port, process)
    try:
        try:
            wait_until_up(f"{server.base}{up_path}")
        except SystemExit:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def portal_environment(port: int, database_url: str, *, page_cache: bool, redis_db: int) -> dict:
    env = environment(port)
    env.update(
        DATABASE_URL=database_url,
        CACHE_URL=f"{REDIS}/{redis_db}",
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        PORTAL_PAGE_CACHE="true" if page_cache else "false",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        # Each request's log line is still written, to where it costs nothing to keep.
        GUNICORN_ACCESS_LOG="/dev/null",
        # Far above what the storm sends, so every sign-in it posts is a real password check.
        RATE_LIMIT_SIGN_IN_FAILED="1000000/5m/ip,1000000/5m/key",
    )
    return env


def portal_server(name: str, database_url: str, *, page_cache: bool, redis_db: int, log: Path):
    port = free_port()
    env = portal_environment(port, database_url, page_cache=page_cache, redis_db=redis_db)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *GUNICORN_BENCH_ARGS]
    return serving(name, command, cwd=ROOT, env=env, port=port, up_path="/healthz", log=log)


def comparison_server(name: str, site, *, log: Path) -> contextlib.AbstractContextManager[Server]:
    """The same gunicorn set-up as the portal's: two workers of eight threads, keep-alive 5 s, an access log."""
    port = free_port()
    command = [str(site.python), "-m", "gunicorn", site.wsgi, "-b", f"127.0.0.1:{port}", "-w", "2"]
    command += ["--threads", "8", "--keep-alive", "5", "--access-logfile", "/dev/null", *GUNICORN_BENCH_ARGS]
    env = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    return serving(name, command, cwd=site.directory, env=env, port=port, up_path=site.path, log=log)


def flush_redis(*databases: int) -> None:
    import redis

    for number in databases:
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()


# ---------------------------------------------------------------------------------------------
# Pages and load


@dataclass
class Page:
    key: str
    label: str
    path: str
    must_show: str
    signed_in: bool = True


@dataclass
class Target:
    server: Server
    path: str
    session: str | None
    must_show: str
    # What the server set (the CSRF cookie), sent back as a browser would from its second request on.
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.server.base}{self.path}"

    @property
    def cookie_header(self) -> str | None:
        cookies = {**({"sessionid": self.session} if self.session else {}), **self.cookies}
        return "; ".join(f"{name}={value}" for name, value in cookies.items()) or None


def check(target: Target) -> None:
    """One request: answered 200 with what the page must show (a cached answer too), or the run stops.

    The cookies the answer sets are kept for the target's later requests, as a browser keeps them.
    """
    header = target.cookie_header
    request = urllib.request.Request(target.url, headers={"Cookie": header} if header else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
            for set_cookie in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in http.cookies.SimpleCookie(set_cookie).items():
                    if name != "sessionid":
                        target.cookies[name] = morsel.value
    except urllib.error.HTTPError as error:
        status, body = error.code, ""
    if status != 200 or target.must_show not in body:
        raise SystemExit(
            f"{target.url} ({target.server.name}) answered {status} without {target.must_show!r}: not the page."
        )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wrk(target: Target, seconds: int, *, timeouts_allowed: bool = False) -> tuple[float, int]:
    """Requests a second, and requests that took over 10 s (only counted where allowed: else the run stops)."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", target.url]
    if target.cookie_header:
        command[1:1] = ["-H", f"Cookie: {target.cookie_header}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    output = result.stdout + result.stderr
    if result.returncode != 0 or re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise SystemExit(f"{target.url} ({target.server.name}) answered with errors:\n{output}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    refused, timeouts = (int(errors.group(1)), int(errors.group(4))) if errors else (0, 0)
    if refused or (timeouts and not timeouts_allowed):
        raise SystemExit(f"{target.url} ({target.server.name}) refused or timed out connections:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rate:
        raise SystemExit(f"wrk printed no rate for {target.url}:\n{output}")
    return float(rate.group(1)), timeouts


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's wrk…", flush=True)
        apt = ["apt-get", "install", "-y", "-qq", "wrk"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(apt, check=True, env=env, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        raise SystemExit("The benchmark needs wrk: install Debian's package (apt-get install wrk) as root.")


@dataclass
class Measured:
    rates: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def median(self, key: str) -> float | None:
        values = self.rates.get(key)
        return statistics.median(values) if values else None


def measure(targets: dict[str, Target], *, rounds: int, seconds: int) -> Measured:
    """Each target checked, warmed for a second, then loaded once a round, the rounds interleaved."""
    for target in targets.values():
        check(target)
        check(target)  # the second answer may come from the page cache: it must be the page too
        wrk(target, 1)  # each worker's first requests, not measured
    measured = Measured()
    for number in range(rounds):
        print(f"round {number + 1} of {rounds}", flush=True)
        for key, target in targets.items():
            measured.rates[key].append(wrk(target, seconds)[0])
            check(target)
            print(f"  {key:<44}{measured.rates[key][-1]:>10.0f} req/s", flush=True)
    return measured


# ---------------------------------------------------------------------------------------------
# Sign-in storm and outbox


@dataclass
class Storm:
    sign_ins_per_second: float
    page_alone: float
    page_during: float
    page_timeouts: int


def sign_in_storm(server: Server, page: Target, seconds: int) -> Storm:
    """bench/sign_in_storm.py's storm on the repeat-view server, with wrk on `page` at the same time."""
    from sign_in_storm import storm

    alone, _ = wrk(page, seconds)
    results: defaultdict[str, float] = defaultdict(int)
    stop = threading.Event()
    thread = threading.Thread(target=storm, args=(server.port, STORM_CLIENTS, seconds + 2, stop, results))
    thread.start()
    try:
        time.sleep(1)  # the storm under way before the page is timed
        during, timeouts = wrk(page, seconds, timeouts_allowed=True)  # slow is a result here
    finally:
        thread.join(seconds + 60)
        stop.set()
    check(page)
    checked = results["right"] + results["wrong"]
    if any(key.startswith("unexpected") for key in results) or not checked or "seconds" not in results:
        raise SystemExit(f"The sign-in storm did not answer as it should (right, wrong, unexpected): {dict(results)}")
    return Storm(checked / results["seconds"], alone, during, timeouts)


@dataclass
class Outbox:
    seconds: float
    delivered: int
    sent: int
    line: str


def outbox_run(database_url: str, emails: int, extra: list[str]) -> Outbox:
    """bench/outbox_throughput.py in a database of its own (it drops and recreates it), its median run."""
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "bench/outbox_throughput.py", "--emails", str(emails), *extra]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"bench/outbox_throughput.py failed:\n{result.stdout}\n{result.stderr}")
    runs = re.findall(r"^(run \d+: (\d+)/(\d+) emails in ([\d.]+) s.*)$", result.stdout, re.MULTILINE)
    if not runs:
        raise SystemExit(f"bench/outbox_throughput.py printed no run:\n{result.stdout}")
    line, delivered, sent, elapsed = sorted(runs, key=lambda run: float(run[3]))[len(runs) // 2]
    return Outbox(float(elapsed), int(delivered), int(sent), line)


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> str:
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    # Changes to tracked files; an untracked file (a .venv linked into a clone) changes nothing measured.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    return f"{os.cpu_count()} cores, {memory} GiB of memory; commit {commit.stdout.strip()}" + (
        " with uncommitted changes" if dirty.strip() else ""
    )


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def ratio(value: float | None, reference: float | None) -> str:
    return f"{value / reference:.3f}" if value and reference else "–"


def times(value: float | None, reference: float | None) -> str:
    return f"{value / reference:.1f}×" if value and reference else "–"


def rate(value: float | None) -> str:
    return f"{value:,.0f}" if value else "–"


def report(
    pages: list[Page],
    measured: Measured,
    storm: Storm | None,
    outbox: Outbox | None,
    *,
    helpdesk_scale: int | None,
) -> tuple[list[str], list[tuple[str, bool]]]:
    bare_first, bare_repeat = measured.median("first bare"), measured.median("repeat bare")
    helpdesk, startproject = measured.median("helpdesk"), measured.median("startproject")
    startproject_persistent = measured.median("startproject persistent")
    lines = [
        "| page | first views req/s | repeat views req/s | share of the bare view, first / repeat "
        "| × django-helpdesk's ticket page, first / repeat |",
        "| --- | --- | --- | --- | --- |",
    ]
    for page in pages:
        first, repeat = measured.median(f"first {page.key}"), measured.median(f"repeat {page.key}")
        lines.append(
            f"| {page.label} | {rate(first)} | {rate(repeat)} | {ratio(first, bare_first)} / "
            f"{ratio(repeat, bare_repeat)} | {times(first, helpdesk)} / {times(repeat, helpdesk)} |"
        )
    for label, value in ((STARTPROJECT_LABEL, startproject), (STARTPROJECT_PERSISTENT_LABEL, startproject_persistent)):
        if value:
            lines.append(f"| {label} | {rate(value)} | | {ratio(value, bare_first)} | {times(value, helpdesk)} |")
    if helpdesk:
        scale = f", {helpdesk_scale:,} tickets" if helpdesk_scale else ""
        lines.append(
            f"| django-helpdesk's ticket page (20 follow-ups{scale}) | {rate(helpdesk)} | | "
            f"{ratio(helpdesk, bare_first)} | 1.0× |"
        )

    targets: list[tuple[str, bool]] = []
    signed_in = [page for page in pages if page.signed_in]
    repeats = {page.label: measured.median(f"repeat {page.key}") or 0 for page in signed_in}
    firsts = {page.label: measured.median(f"first {page.key}") or 0 for page in signed_in}
    slowest_repeat = min(repeats, key=lambda label: repeats[label])
    slowest_first = min(firsts, key=lambda label: firsts[label])
    fastest_first = max(firsts, key=lambda label: firsts[label])
    # Comparisons that are not issue 13's targets, printed beside them.
    beside: list[str] = []
    share = repeats[slowest_repeat] / (bare_repeat or 1)
    targets.append(
        (
            f"repeat views: every signed-in page at least {REPEAT_SHARE_OF_BARE} of the bare view "
            f"(lowest: {slowest_repeat}, {share:.3f})",
            share >= REPEAT_SHARE_OF_BARE,
        )
    )
    if helpdesk:
        ticket = measured.median("repeat ticket") or 0
        targets.append(
            (
                f"repeat views: the ticket page at least {REPEAT_TICKET_TIMES_HELPDESK:.0f}× django-helpdesk's "
                f"({ticket / helpdesk:.1f}×)",
                ticket >= REPEAT_TICKET_TIMES_HELPDESK * helpdesk,
            )
        )
        targets.append(
            (
                f"first views: every signed-in page at least {FIRST_TIMES_HELPDESK:.0f}× django-helpdesk's ticket page "
                f"(lowest: {slowest_first}, {firsts[slowest_first] / helpdesk:.1f}×)",
                firsts[slowest_first] >= FIRST_TIMES_HELPDESK * helpdesk,
            )
        )
    if startproject:
        targets.append(
            (
                f"first views: every signed-in page at least the startproject page's {startproject:,.0f} req/s "
                f"(lowest: {slowest_first}, {firsts[slowest_first]:,.0f})",
                firsts[slowest_first] >= startproject,
            )
        )
    if startproject_persistent:
        beside.append(
            f"First views against the startproject page with persistent connections, "
            f"{startproject_persistent:,.0f} req/s: lowest {slowest_first}, "
            f"{firsts[slowest_first] / startproject_persistent:.2f} of it; highest {fastest_first}, "
            f"{firsts[fastest_first] / startproject_persistent:.2f}."
        )
    if storm:
        targets.append(
            (
                f"{SIGN_INS_PER_SECOND:.0f} sign-ins a second during a storm of {STORM_CLIENTS} clients "
                f"({storm.sign_ins_per_second:.1f}/s; the portal home meanwhile {storm.page_during:,.0f} req/s, "
                f"{storm.page_alone:,.0f} alone, {storm.page_timeouts} requests over 10 s)",
                storm.sign_ins_per_second >= SIGN_INS_PER_SECOND,
            )
        )
    if outbox:
        # As a rate, so that a shorter run (--quick) is held to the same pace.
        needed = EMAILS / EMAILS_SECONDS
        pace = outbox.delivered / outbox.seconds
        targets.append(
            (
                f"{EMAILS:,} portal-link emails through the outbox in under {EMAILS_SECONDS:.0f} s, {needed:.0f}/s "
                f"({outbox.delivered:,} of {outbox.sent:,} in {outbox.seconds:.1f} s, {pace:.0f}/s)",
                outbox.delivered == outbox.sent and pace > needed,
            )
        )
    return lines, targets, beside


def write_markdown(
    path: Path, *, header: list[str], table: list[str], targets, beside: list[str], notes: list[str]
) -> None:
    body = ["# Benchmarks", "", "Written by `make bench` (bench/run.py); each run replaces it.", "", *header, ""]
    body += table + ["", "## Targets", ""]
    body += [f"- **{'PASS' if passed else 'FAIL'}** {text}" for text, passed in targets]
    if beside:
        body += ["", "Beside the targets:", "", *(f"- {line}" for line in beside)]
    body += ["", "## How it was measured", "", *notes, ""]
    path.write_text("\n".join(body))


# ---------------------------------------------------------------------------------------------


def portal_pages(data: dict) -> list[Page]:
    import portal_data

    org = f"/{data['organisation']}"
    ticket, conversation, booking = data["ticket"], data["conversation"], data["booking"]
    return [
        Page("bare", "bare Django view (`/healthz`)", "/healthz", "ok", signed_in=False),
        Page("sign-in", "sign-in page", f"{org}/sign-in/", "password", signed_in=False),
        Page("home", "portal home", f"{org}/", portal_data.TICKET_SUBJECT),
        Page("bookings", f"My bookings ({portal_data.BOOKINGS})", f"{org}/bookings/", portal_data.BOOKING_TITLE),
        Page("booking", "a booking", f"{org}/bookings/{booking['reference']}/", booking["title"]),
        Page("tickets", f"ticket list ({portal_data.TICKETS})", f"{org}/support/", portal_data.TICKET_SUBJECT),
        Page(
            "ticket",
            f"a ticket ({portal_data.THREAD} messages)",
            f"{org}/support/{ticket['number']}/",
            f"{portal_data.TICKET_MESSAGE} {portal_data.THREAD}:",
        ),
        Page(
            "conversations",
            f"conversation list ({portal_data.CONVERSATIONS})",
            f"{org}/conversations/",
            portal_data.CONVERSATION_SUBJECT,
        ),
        Page(
            "conversation",
            f"a conversation ({portal_data.THREAD} messages)",
            f"{org}/conversations/{conversation['id']}/",
            f"{portal_data.CONVERSATION_MESSAGE} {portal_data.THREAD}:",
        ),
    ]


def prepare_portal(database_url: str, scale: float) -> dict:
    """bench/portal_data.py (loads once, migrates), then the static files the pages link to."""
    env = portal_environment(8000, database_url, page_cache=True, redis_db=REPEAT_REDIS_DB)
    result = subprocess.run(
        [sys.executable, "bench/portal_data.py", "--database-url", database_url, "--scale", str(scale)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit("bench/portal_data.py failed to prepare the database.")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s a page, one round, 1,000 emails; writes nothing.")
    parser.add_argument("--seconds", type=int, help="Load each page this long (default 10; --quick 3).")
    parser.add_argument("--rounds", type=int, help="Interleaved rounds, the median kept (default 3; --quick 1).")
    parser.add_argument("--scale", type=float, default=1.0, help="bench/scale.py's fraction of the target (1).")
    parser.add_argument("--skip-helpdesk", action="store_true", help="Not django-helpdesk's ticket page.")
    parser.add_argument("--skip-startproject", action="store_true", help="Not the startproject page.")
    parser.add_argument("--skip-storm", action="store_true", help="Not the sign-in storm.")
    parser.add_argument("--skip-outbox", action="store_true", help="Not the 10,000 emails.")
    parser.add_argument(
        "--outbox-args", default="", help='More arguments for bench/outbox_throughput.py, e.g. "--runs 3".'
    )
    parser.add_argument(
        "--output", type=Path, help="Where to write the results (default BENCHMARKS.md; --quick: none)."
    )
    parser.add_argument("--strict", action="store_true", help="Exit 2 when a target is missed.")
    args = parser.parse_args()
    seconds = args.seconds or (3 if args.quick else 10)
    rounds = args.rounds or (1 if args.quick else 3)
    emails = 1_000 if args.quick else EMAILS
    output = args.output or (None if args.quick else ROOT / "BENCHMARKS.md")

    load_at_start = load_average()
    started = datetime.datetime.now(datetime.UTC)
    measured_code = machine()
    ensure_wrk()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark needs PostgreSQL: DATABASE_URL=postgres://…")
    data = prepare_portal(database_url, args.scale)
    pages = portal_pages(data)
    helpdesk_scale = None

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as temporary, contextlib.ExitStack() as stack:
        import comparisons

        flush_redis(REPEAT_REDIS_DB, FIRST_REDIS_DB)
        logs = Path(temporary)
        repeat = stack.enter_context(
            portal_server(
                "repeat views", database_url, page_cache=True, redis_db=REPEAT_REDIS_DB, log=logs / "repeat.log"
            )
        )
        first = stack.enter_context(
            portal_server(
                "first views", database_url, page_cache=False, redis_db=FIRST_REDIS_DB, log=logs / "first.log"
            )
        )
        targets: dict[str, Target] = {}
        for server, prefix in ((first, "first"), (repeat, "repeat")):
            for page in pages:
                cookie = data["session"] if page.signed_in else None
                targets[f"{prefix} {page.key}"] = Target(server, page.path, cookie, page.must_show)
        if not args.skip_startproject:
            # As issue 13 measured it (Django's default: a connection opened for each request), the target; and with
            # persistent connections, as the portal has them, beside it.
            for key, persistent in (("startproject", False), ("startproject persistent", True)):
                name = key.replace(" ", "-")
                site = comparisons.prepare_startproject(
                    Path(temporary) / name, f"{database_url}_startproject", persistent_connections=persistent
                )
                server = stack.enter_context(comparison_server(key, site, log=logs / f"{name}.log"))
                targets[key] = Target(server, site.path, site.session, site.must_show)
        if not args.skip_helpdesk:
            helpdesk_scale = comparisons.HELPDESK_TICKETS
            site = comparisons.prepare_helpdesk(Path(temporary) / "helpdesk", f"{database_url}_helpdesk")
            server = stack.enter_context(comparison_server("django-helpdesk", site, log=logs / "helpdesk.log"))
            targets["helpdesk"] = Target(server, site.path, site.session, site.must_show)

        measured = measure(targets, rounds=rounds, seconds=seconds)
        storm = None
        if not args.skip_storm:
            print("sign-in storm", flush=True)
            storm = sign_in_storm(repeat, targets["repeat home"], seconds)
    outbox = None
    if not args.skip_outbox:
        print(f"outbox: {emails:,} emails", flush=True)
        outbox = outbox_run(f"{database_url}_outbox", emails, args.outbox_args.split())

    table, results, beside = report(pages, measured, storm, outbox, helpdesk_scale=helpdesk_scale)
    load_at_end = load_average()
    header = [
        f"{started:%Y-%m-%d %H:%M} UTC; {measured_code}.",
        f"Load average (1, 5, 15 min) at the start {load_at_start}, at the end {load_at_end}.",
    ]
    print("\n" + "\n".join(header) + "\n")
    print("\n".join(table) + "\n")
    if not data.get("page_cache"):
        print("This code has no page cache (no PAGE_CACHE_ENABLED setting): repeat views ran as first views.\n")
    for text, passed in results:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    for line in beside:
        print(f"      {line}")
    if output:
        notes = [
            f"- The portal at bench/scale.py's scale {args.scale:g} (1 is 1,000,000 tickets, 300,000 conversations "
            "and 200,000 bookings in the measured organisation), the measured customer with 40 bookings, 60 tickets "
            "and 30 conversations; PostgreSQL, Redis and wrk on the same cores.",
            "- gunicorn through gunicorn.conf.py with 2 workers of 8 threads, DEBUG off, Redis as the cache, "
            "sessions in cached_db. First views: PORTAL_PAGE_CACHE=false; repeat views: the page cache on. "
            "No worker is replaced during the run (`--max-requests 0`).",
            f"- `wrk -t2 -c16`, {seconds:g} s a page, {rounds} interleaved round(s), the median kept; each request "
            "sends the cookies a browser would hold by then (the session, and the CSRF cookie its first visit set).",
            "- The startproject pages and django-helpdesk (2.6.1, in a virtualenv of its own) under the same "
            "gunicorn settings, DEBUG off, sessions in PostgreSQL, persistent database connections except for the "
            "first startproject page, which keeps Django's default (a connection opened for each request) as "
            "issue 13 measured it (207 req/s, 0.066 of the bare view's 3,147)"
            + (f"; django-helpdesk's database holds {helpdesk_scale:,} tickets." if helpdesk_scale else "."),
        ]
        if storm:
            notes.append(
                f"- Sign-in storm: {STORM_CLIENTS} clients posting right and wrong passwords to the repeat-view "
                f"server while wrk loads the portal home: {storm.sign_ins_per_second:.1f} sign-ins/s, the home "
                f"{storm.page_during:,.0f} req/s during it ({storm.page_alone:,.0f} alone)."
            )
        if outbox:
            command = " ".join(["bench/outbox_throughput.py", "--emails", str(emails), *args.outbox_args.split()])
            notes.append(f"- Outbox (`{command}`), in a database of its own: {outbox.line}")
        notes.append("- The machine is shared: numbers move from run to run with what else it runs (see the load).")
        if not data.get("page_cache"):
            notes.append(
                "- This code has no page cache (no PAGE_CACHE_ENABLED setting): repeat views ran as first views."
            )
        write_markdown(output, header=header, table=table, targets=results, beside=beside, notes=notes)
        print(f"\nWritten to {output}")
    return 2 if args.strict and not all(passed for _text, passed in results) else 0


if __name__ == "__main__":
    sys.exit(main())
