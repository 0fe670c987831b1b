"""Measure how fast portal-link emails go through the outbox into a mail server on loopback.

Seeds one organisation with N open tickets, each with its own requester (bulk_create), starts an aiosmtpd
server that accepts everything in a process of its own, then times one of:

- `command`: `send_portal_links`, which records each link and delivers its own emails in batches;
- `send_outbox`: the links recorded first (not timed), then `send_outbox` processes running side by side;
- `workers`: the links recorded with their delivery tasks (not timed), then `db_worker` processes running them.

Each run starts from an empty outbox and ends when the mail server has every email (or at --timeout).
Only loopback is contacted; it stops by itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/outbox_throughput.py
    ... bench/outbox_throughput.py --mode workers --processes 4 --runs 3
    ... bench/outbox_throughput.py --emails 2000 --profile command.prof   # cProfile of the (first) sender

Each run prints `run N: SENT/EMAILS emails in T s (R/s), C ms of the senders' CPU per email, S ms of the mail
server's, load L` (CPU counted over the sending processes and their threads, and over the mail server's process);
with --runs over 1, a last line `MODE: min T s, median T s, max T s`.
"""

import argparse
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_smtp(port: int, received, ready) -> None:
    """A mail server that accepts every email and only counts it."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    asyncio.run(asyncio.Event().wait())  # until terminated


def environment(smtp_port: int) -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_outbox")
    env.update(
        DEBUG="false",
        SECRET_KEY=env.get("SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="http://127.0.0.1:8000",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal_project.settings",
    )
    return env


def prepare_database(env: dict) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def seed(emails: int) -> None:
    """An empty outbox and `emails` open tickets, each with its own requester."""
    from django.db import connection

    from portal_auth.models import Customer, Organisation
    from tickets.models import Ticket

    with connection.cursor() as cursor:
        tables = ["outbox_outboxemail", "django_tasks_database_dbtaskresult", "portal_auth_accessevent"]
        tables += ["portal_auth_customertoken", "tickets_ticket", "portal_auth_customer", "portal_auth_organisation"]
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    organisation = Organisation.objects.create(name="Bench Travel", slug="bench")
    customers = Customer.objects.bulk_create(
        Customer(organisation=organisation, email=f"customer{n}@example.com", name=f"Customer {n}")
        for n in range(emails)
    )
    Ticket.objects.bulk_create(
        Ticket(organisation=organisation, number=n + 1, requester=customer, subject=f"Ticket {n + 1}")
        for n, customer in enumerate(customers)
    )


def record_links(*, with_tasks: bool) -> None:
    """Every ticket's link in the outbox, untimed: with a delivery task per 100, or waiting for send_outbox."""
    from outbox.services import outbox_collect
    from portal_core.origin import ClientOrigin
    from tickets.models import Ticket
    from tickets.services import ticket_portal_links_send

    origin = ClientOrigin.command("bench")
    tickets = Ticket.objects.select_related("organisation", "requester__organisation").order_by("pk")
    if with_tasks:
        ticket_portal_links_send(tickets=tickets.iterator(chunk_size=500), origin=origin)
        return
    with outbox_collect():
        ticket_portal_links_send(tickets=tickets.iterator(chunk_size=500), origin=origin)


def process_cpu(pid: int) -> float:
    """Seconds of CPU a process has used so far (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(received, expected: int, processes: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while received.value < expected and time.monotonic() < deadline:
        if all(process.poll() is not None for process in processes) and received.value < expected:
            break  # every sender is done; what did not arrive will not
        time.sleep(0.05)


def run_once(args, env: dict, received, server_pid: int) -> tuple[float, int, float, float]:
    seed(args.emails)
    if args.mode != "command":
        record_links(with_tasks=args.mode == "workers")
    with received.get_lock():
        received.value = 0
    manage = [sys.executable, "manage.py"]
    if args.mode == "command":
        commands = [[*manage, "send_portal_links", "--no-progress", "--senders", str(args.senders)]]
    elif args.mode == "send_outbox":
        run = ["send_outbox", "--limit", str(args.emails), "--time-budget", str(args.timeout)]
        commands = [[*manage, *run]] * args.processes
    else:
        commands = [[*manage, "db_worker", "--batch", "--no-startup-delay"]] * args.processes
    if args.profile:  # the first process only
        commands[0] = [sys.executable, "-m", "cProfile", "-o", args.profile, *commands[0][1:]]
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu_before = process_cpu(server_pid)
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for command in commands]
    try:
        for process in processes:
            process.wait(timeout=args.timeout)
        wait_for(received, args.emails, processes, 5)
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    return elapsed, received.value, cpu, process_cpu(server_pid) - server_cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--mode", choices=["command", "send_outbox", "workers"], default="command")
    parser.add_argument("--processes", type=int, default=2, help="send_outbox or db_worker processes side by side")
    parser.add_argument("--senders", type=int, default=4, help="send_portal_links --senders (--mode command)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--profile", metavar="FILE", help="cProfile output of the (first) sending process")
    parser.add_argument("--keep-database", action="store_true", help="Skip dropping and migrating the database.")
    args = parser.parse_args()

    smtp_port = free_port()
    env = environment(smtp_port)
    os.environ.update(env)
    if not args.keep_database:
        prepare_database(env)
    import django

    django.setup()

    received = multiprocessing.Value("l", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_smtp, args=(smtp_port, received, ready), daemon=True)
    server.start()
    ready.wait(10)
    times = []
    try:
        for run in range(args.runs):
            elapsed, count, cpu, server_cpu = run_once(args, env, received, server.pid)
            times.append(elapsed)
            rate = count / elapsed if elapsed else 0
            load = os.getloadavg()[0]
            print(
                f"run {run + 1}: {count}/{args.emails} emails in {elapsed:.1f} s ({rate:.0f}/s), "
                f"{cpu * 1000 / max(count, 1):.1f} ms of the senders' CPU per email, "
                f"{server_cpu * 1000 / max(count, 1):.1f} ms of the mail server's, load {load:.1f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.join(5)
    if len(times) > 1:
        summary = f"min {min(times):.1f} s, median {statistics.median(times):.1f} s, max {max(times):.1f} s"
        print(f"{args.mode}: {summary}")


if __name__ == "__main__":
    main()
