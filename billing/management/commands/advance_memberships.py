import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services import memberships_advance


class Command(BaseCommand):
    help = (
        "Moves memberships through their dates (renewals, expiries) and emails reminders a week before renewal."
        " Run daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            help="The day to act as of (YYYY-MM-DD) for every organisation; by default each one's own date.",
        )

    def handle(self, *args, today: datetime.date | None = None, **options) -> None:
        done = memberships_advance(today=today)  # by default, each organisation's date in its own time zone
        self.stdout.write(f"{done.renewed} renewed, {done.expired} expired, {done.reminded} reminded.")
        if done.failed:  # after the others were moved on: a non-zero exit, so the scheduler tells someone
            ids = ", ".join(str(pk) for pk in done.failed)
            raise CommandError(f"{len(done.failed)} could not be moved on (memberships {ids}): see the log.")
