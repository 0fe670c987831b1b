from django.core.management.base import BaseCommand, CommandError

from portal_auth.models import Organisation
from portal_core.origin import ClientOrigin
from tickets.models import Ticket
from tickets.services import ticket_portal_link_send


class Command(BaseCommand):
    help = (
        "Email the requester of each matching ticket a portal link that opens it (valid for ACCESS_LINK_LIFETIME). "
        "Each email is recorded in the outbox and sent after its own commit."
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

    def handle(self, *args, organisation, status, dry_run, no_progress, **options):
        tickets = Ticket.objects.select_related("organisation", "requester__organisation").order_by("pk")
        if organisation:
            known = set(Organisation.objects.filter(slug__in=organisation).values_list("slug", flat=True))
            unknown = sorted(set(organisation) - known)
            if unknown:
                raise CommandError(f"No organisation with slug {', '.join(unknown)}.")
            tickets = tickets.filter(organisation__slug__in=organisation)
        tickets = tickets.filter(status__in=status) if status else tickets.exclude(status=Ticket.Status.CLOSED)
        total = tickets.count()
        if dry_run:
            self.stdout.write(f"{total} ticket{'s' if total != 1 else ''} would get a portal link.")
            return
        progress = None if no_progress else ProgressBar(self.stderr, total)
        sent, origin = 0, ClientOrigin.command("send_portal_links")
        for ticket in tickets.iterator(chunk_size=500):
            ticket_portal_link_send(ticket=ticket, origin=origin)
            sent += 1
            if progress:
                progress.update(sent)
        if progress:
            progress.finish()
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} portal link{'s' if sent != 1 else ''}."))


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
