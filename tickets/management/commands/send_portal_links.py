from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from itertools import islice

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from outbox.services import Delivery, outbox_collect, outbox_deliver
from portal_auth.doors.registry import ACCESS_LINK, door_is_open
from portal_auth.models import Organisation
from portal_core.origin import ClientOrigin
from tickets.models import Ticket
from tickets.services import ticket_portal_links_send

# Links made between two deliveries: emails claimed in one go stay well within a send_outbox time budget.
DELIVERY_BATCH = 100
# Batches sent at once on PostgreSQL: sending waits on the mail server and the database about half the time.
# SQLite takes one writer at a time, so there senders would only queue for it.
SENDERS = 4


class Command(BaseCommand):
    help = (
        "Email the requester of each matching ticket a portal link that opens it (valid for ACCESS_LINK_LIFETIME). "
        "Each email is recorded in the outbox with its link, and sent by this command, a batch at a time, before it "
        "exits; what the mail server did not take waits in the outbox for send_outbox."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--organisation", action="append", default=[], metavar="SLUG", help="Only this organisation (repeatable)."
        )
        parser.add_argument(
            "--status",
            action="append",
            default=[],
            choices=Ticket.Status.values,
            help="Only tickets of this status (repeatable). Default: every status but closed.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count the tickets; send nothing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, cron).")
        parser.add_argument(
            "--senders",
            type=int,
            metavar="N",
            help=f"Batches sent side by side, each over its own connection to the mail server (default {SENDERS} "
            "on PostgreSQL, 1 on SQLite).",
        )

    def handle(self, *args, organisation, status, dry_run, no_progress, senders, **options):
        # A deactivated requester could never use a link.
        tickets = (
            Ticket.objects.select_related("organisation", "requester__organisation")
            .filter(requester__is_active=True)
            .order_by("pk")
        )
        if organisation:
            known = set(Organisation.objects.filter(slug__in=organisation).values_list("slug", flat=True))
            unknown = sorted(set(organisation) - known)
            if unknown:
                raise CommandError(f"No organisation with slug {', '.join(unknown)}.")
            tickets = tickets.filter(organisation__slug__in=organisation)
        tickets = tickets.filter(status__in=status) if status else tickets.exclude(status=Ticket.Status.CLOSED)
        chosen = Organisation.objects.filter(slug__in=organisation) if organisation else Organisation.objects.all()
        closed = [org for org in chosen if not door_is_open(org, ACCESS_LINK)]
        if closed:
            # Their links would lead to a closed door: say so rather than send them.
            tickets = tickets.exclude(organisation__in=closed)
            names = ", ".join(org.slug for org in closed)
            self.stderr.write(f"Skipped organisations that have closed emailed sign-in links: {names}.")
        total = tickets.count()
        if dry_run:
            self.stdout.write(f"{total} ticket{'s' if total != 1 else ''} would get a portal link.")
            return
        progress = None if no_progress else ProgressBar(self.stderr, total)
        links, origin = 0, ClientOrigin.command("send_portal_links")
        emails = EmailTally(senders or (SENDERS if connection.vendor == "postgresql" else 1))
        # Sent here, every sending batch finished before the command exits: none dies mid-conversation.
        with outbox_collect() as committed:
            try:
                for batch in _batches(tickets.iterator(chunk_size=DELIVERY_BATCH), DELIVERY_BATCH):
                    before, links = links, links + ticket_portal_links_send(tickets=batch, origin=origin)
                    emails.deliver(committed)
                    if progress:
                        for done in range(before + 1, links + 1):  # each tenth passed, even within one batch
                            progress.update(done)
            finally:
                emails.finish()
        if progress:
            progress.finish()
        self.stdout.write(self.style.SUCCESS(f"Sent {links} portal link{'s' if links != 1 else ''}."))
        if emails.delivered < links:
            stopped = f", then stopped: {emails.stopped}" if emails.stopped else ""
            self.stderr.write(
                f"Emails: {emails.delivered} delivered, {emails.failed} failed{stopped}. "
                f"The other {links - emails.delivered} wait in the outbox, where send_outbox retries them."
            )


def _batches(tickets: Iterator[Ticket], size: int) -> Iterator[list[Ticket]]:
    while batch := list(islice(tickets, size)):
        yield batch


class EmailTally:
    """Delivers the command's emails a batch at a time, and stops trying once the mail server is unreachable.

    The first batch goes alone, so a server that does not answer is tried once; once it has taken an email,
    up to `senders` batches go out side by side, each over its own connection and database connection,
    while the next links are written."""

    def __init__(self, senders: int) -> None:
        self.delivered = self.failed = 0
        self.stopped = ""
        self.senders = senders
        self.pool = ThreadPoolExecutor(senders, thread_name_prefix="send_portal_links") if senders > 1 else None
        self.sending: set[Future[Delivery]] = set()

    def deliver(self, ids: list[int]) -> None:
        batch = list(ids)
        ids.clear()
        self._count(wait=len(self.sending) >= self.senders)
        if not batch or self.stopped:
            return
        if self.pool is None or not self.delivered:
            self._add(outbox_deliver(ids=batch))
        else:
            self.sending.add(self.pool.submit(_deliver_in_thread, batch))

    def finish(self) -> None:
        while self.sending:
            self._count(wait=True)
        if self.pool is not None:
            self.pool.shutdown()

    def _count(self, *, wait: bool) -> None:
        done, self.sending = futures_wait(self.sending, timeout=None if wait else 0, return_when=FIRST_COMPLETED)
        for future in done:
            self._add(future.result())

    def _add(self, delivery: Delivery) -> None:
        self.delivered += delivery.sent
        self.failed += delivery.failed
        if delivery.server_unreachable:  # a slow batch that ran out of time does not stop the next one
            self.stopped = delivery.stopped


def _deliver_in_thread(ids: list[int]) -> Delivery:
    try:
        return outbox_deliver(ids=ids)
    finally:
        connection.close()  # the thread's own, opened for this batch


class ProgressBar:
    """A one-line bar, redrawn in place on a terminal and every 10% elsewhere."""

    WIDTH = 30

    def __init__(self, stream, total: int):
        self.stream = stream
        self.total = total
        self.interactive = stream.isatty()
        self.last_tenth = 0

    def update(self, done: int) -> None:
        fraction = done / self.total if self.total else 1
        tenth = int(fraction * 10)
        if not self.interactive and tenth == self.last_tenth and done != self.total:
            return
        self.last_tenth = tenth
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"[{bar}] {done}/{self.total} ({fraction:.0%})"
        self.stream.write(f"\r{line}" if self.interactive else line, ending="" if self.interactive else "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("")
