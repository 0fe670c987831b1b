from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from portal_auth.models import CustomerSession, CustomerToken, SignInCode, UsedExternalToken
from portal_core.ratelimit import counters_purge
from portal_core.sections import sections


class Command(BaseCommand):
    help = (
        "Delete tokens that can no longer be used, the records of used sign-on tokens past their expiry,"
        " expired sign-in codes, the records of sessions that are over, and the rate-limit counters of windows"
        " that have ended; and what each section says can no longer be used."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-days",
            type=int,
            default=30,
            help="Keep used, revoked or expired tokens this many days for the access log (default 30).",
        )

    def handle(self, *args, keep_days, **options):
        now = timezone.now()
        cutoff = now - timedelta(days=keep_days)
        dead = Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
        _, deleted = CustomerToken.objects.filter(dead).delete()
        tokens = deleted.get(CustomerToken._meta.label, 0)
        used, _ = UsedExternalToken.objects.filter(expires_at__lt=now).delete()
        # A code is of no use once expired: the count of wrong codes lives on in the rate-limit counters.
        codes, _ = SignInCode.objects.filter(expires_at__lt=now).delete()
        # A session over is listed nowhere (the access log keeps its sign-in), and its browser is signed out
        # whether or not its row is left.
        sessions, _ = CustomerSession.objects.filter(Q(expires_at__lt=now) | Q(ended_at__lt=now)).delete()
        counters = counters_purge(now=now)
        self.stdout.write(
            f"Deleted {tokens} expired tokens, {used} used sign-on records, {codes} sign-in codes,"
            f" {sessions} session records and {counters} rate-limit counters."
        )
        for section in sections():
            if section.purge_expired is not None:
                count, what = section.purge_expired(now)
                self.stdout.write(f"Deleted {count} {what}.")
