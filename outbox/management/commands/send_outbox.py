from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outbox.selectors import outbox_counts
from outbox.services import outbox_deliver
from portal_core.tasks import tasks_requeue_interrupted


class Command(BaseCommand):
    help = (
        "Send the emails waiting in the outbox whose next attempt is due, and make ready again the tasks a killed "
        "worker left running (run it every minute from cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many emails per run.")
        parser.add_argument(
            "--time-budget",
            type=float,
            default=settings.OUTBOX_SEND_TIME_BUDGET,
            metavar="SECONDS",
            help="Try no new email after this many seconds (default OUTBOX_SEND_TIME_BUDGET).",
        )

    def handle(self, *args, limit, time_budget, **options):
        requeued = tasks_requeue_interrupted(running_longer_than=settings.TASKS_RUNNING_STALE_AFTER)
        if requeued:
            self.stderr.write(f"Made {requeued} interrupted tasks ready again for the worker.")
        delivery = outbox_deliver(limit=limit, time_budget=time_budget)
        counts = outbox_counts()
        given_up = f" Given up on {counts['failed']} (send them again from the admin)." if counts["failed"] else ""
        self.stdout.write(
            f"Sent {delivery.sent}, failed {delivery.failed}, still waiting {counts['waiting']}.{given_up}"
        )
        if delivery.failed:
            self.stderr.write(
                "Some emails failed: each is retried later, unless the mail server refused it for good. "
                "See Outgoing emails in the admin."
            )
        if delivery.server_unreachable:
            # An exit status cron and systemd report: every email waits until the server answers again.
            raise CommandError(f"Stopped early: {delivery.stopped}. The rest waits for the next run.")
        if delivery.stopped:
            self.stderr.write(f"Stopped early: {delivery.stopped}. The rest waits for the next run.")
