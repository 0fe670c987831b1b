from django.db.models import Count, Q

from outbox.models import OutboxEmail

WAITING = [OutboxEmail.Status.PENDING, OutboxEmail.Status.SENDING]


def outbox_counts() -> dict[str, int]:
    """How many emails wait to be sent and how many were given up on, in one query on the status index."""
    return OutboxEmail.objects.filter(status__in=[*WAITING, OutboxEmail.Status.FAILED]).aggregate(
        waiting=Count("pk", filter=Q(status__in=WAITING)),
        failed=Count("pk", filter=Q(status=OutboxEmail.Status.FAILED)),
    )
