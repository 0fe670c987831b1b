from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q, QuerySet
from django.utils import timezone

from portal_auth.models import ApiCall, CustomerSession, CustomerToken, SignInCode, UsedExternalToken
from portal_core.ratelimit import counters_purge
from portal_core.sections import sections

# Rows deleted a statement at a time: each chunk is a short transaction of its own, and what refers to its rows
# (the access log's link to a token) is updated with a list of ids well under PostgreSQL's 65,535 parameters.
CHUNK = 5_000
# Beyond this, a date is past what the database holds (and no log is kept that long).
MOST_DAYS = 3650


def _deleted_in_chunks(rows: QuerySet) -> Iterator[int]:
    """Delete `rows`, a chunk at a time; yields how many each chunk deleted."""
    model = rows.model
    while chunk := list(rows.order_by().values_list("pk", flat=True)[:CHUNK]):
        _, deleted = model._default_manager.filter(pk__in=chunk).delete()
        yield deleted.get(model._meta.label, 0)


def _purged(rows: QuerySet) -> int:
    return sum(_deleted_in_chunks(rows))


class Command(BaseCommand):
    help = (
        "Delete tokens that can no longer be used, the records of used sign-on tokens past their expiry,"
        " expired sign-in codes, the records of sessions that are over, expired sessions, the API log's calls"
        " older than --api-log-days, and the rate-limit counters of windows that have ended; and what each"
        " section says can no longer be used."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-days",
            type=int,
            default=30,
            help="Keep used, revoked or expired tokens this many days for the access log (default 30).",
        )
        parser.add_argument(
            "--api-log-days",
            type=int,
            default=90,
            help="Keep the API log's calls this many days (default 90).",
        )

    def handle(self, *args, keep_days, api_log_days, **options):
        for name, days in (("--keep-days", keep_days), ("--api-log-days", api_log_days)):
            if not 0 <= days <= MOST_DAYS:
                raise CommandError(f"{name} must be between 0 and {MOST_DAYS} (got {days}).")
        now = timezone.now()
        cutoff = now - timedelta(days=keep_days)
        tokens = _purged(
            CustomerToken.objects.filter(Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff))
        )
        used = _purged(UsedExternalToken.objects.filter(expires_at__lt=now))
        # A code is of no use once expired: the count of wrong codes lives on in the rate-limit counters.
        codes = _purged(SignInCode.objects.filter(expires_at__lt=now))
        # A session over is listed nowhere (the access log keeps its sign-in), and its browser is signed out
        # whether or not its row is left.
        sessions = _purged(CustomerSession.objects.filter(Q(expires_at__lt=now) | Q(ended_at__lt=now)))
        # Django's own session rows: every visitor (an emailed link's click too) leaves one, kept past its expiry.
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        calls = _purged(ApiCall.objects.filter(created_at__lt=now - timedelta(days=api_log_days)))
        counters = counters_purge(now=now)
        self.stdout.write(
            f"Deleted {tokens} expired tokens, {used} used sign-on records, {codes} sign-in codes,"
            f" {sessions} session records, {calls} API log calls and {counters} rate-limit counters;"
            " expired sessions cleared."
        )
        for section in sections():
            if section.purge_expired is not None:
                count, what = section.purge_expired(now)
                self.stdout.write(f"Deleted {count} {what}.")
