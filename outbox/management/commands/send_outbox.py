from django.core.management.base import BaseCommand

from outbox.models import OutboxEmail
from outbox.services import outbox_deliver


class Command(BaseCommand):
    help = "Send the emails waiting in the outbox whose next attempt is due (run it every minute from cron)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many emails per run.")

    def handle(self, *args, limit, **options):
        sent, failed = outbox_deliver(limit=limit)
        waiting = OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).count()
        self.stdout.write(f"Sent {sent}, failed {failed}, still waiting {waiting}.")
        if failed:
            self.stderr.write("Some emails failed; they will be retried. See Outgoing emails in the admin.")
