"""Email delivery as a task: each email is delivered by `db_worker` once its transaction commits, and retried by
later tasks at the outbox's back-off. send_outbox sweeps up whatever a dead worker left behind."""

import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.tasks import task
from django.utils import timezone

from outbox.models import OutboxEmail
from outbox.services import outbox_deliver

# After the mail server failed to answer, a worker tries no email for this long (about one send_outbox interval):
# each would wait out the same timeout again, and hold up every task behind it.
PAUSE_AFTER_UNREACHABLE = 60.0
_paused_until = 0.0  # time.monotonic() of this worker process


@task
def outbox_deliver_task(*, ids: list[int]) -> dict[str, int]:
    """Send these emails, then enqueue a later delivery of those that failed, at their next attempt."""
    global _paused_until
    can_wait = outbox_deliver_task.get_backend().supports_defer  # else the work is done inline: no pause
    pause_left = _paused_until - time.monotonic()
    if can_wait and pause_left > 0:
        _deliver_later(ids, not_before=timezone.now() + timedelta(seconds=pause_left))
        return {"sent": 0, "failed": 0}
    delivery = outbox_deliver(ids=ids)
    not_before = timezone.now()
    if can_wait and delivery.server_unreachable:
        _paused_until = time.monotonic() + PAUSE_AFTER_UNREACHABLE
        not_before += timedelta(seconds=PAUSE_AFTER_UNREACHABLE)
    _deliver_later(ids, not_before=not_before)
    return {"sent": delivery.sent, "failed": delivery.failed}


def _deliver_later(ids: list[int], *, not_before: datetime) -> None:
    """One delivery task per minute in which some of these emails, still waiting, are next due."""
    if not outbox_deliver_task.get_backend().supports_defer:
        return  # an immediate backend can't wait: send_outbox retries them
    due_minutes: dict[datetime, list[int]] = defaultdict(list)
    waiting = OutboxEmail.objects.filter(pk__in=ids, status=OutboxEmail.Status.PENDING)
    for pk, next_attempt_at in waiting.values_list("pk", "next_attempt_at"):
        # Rounded up, never down: a delivery by id sends an email whether or not it is due.
        due = max(next_attempt_at, not_before)
        minute = due.replace(second=0, microsecond=0) + timedelta(minutes=1 if due.second or due.microsecond else 0)
        due_minutes[minute].append(pk)
    for minute, group in sorted(due_minutes.items()):
        outbox_deliver_task.using(run_after=minute).enqueue(ids=group)
