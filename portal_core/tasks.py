"""Work done after the answer, on Django's tasks framework, kept in the database until a worker has done it.

The portal answers first and works after (a requested sign-in link, each email's delivery), so that no response
waits on the mail server or tells, by how long it took, whether an email address is known. A web process killed
right after answering loses nothing: the task was written with the request's own writes, and `db_worker` runs it.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import Error
from django.db import transaction
from django.db.models import Min, Q
from django.tasks import Task, TaskResultStatus, task_backends
from django.tasks.backends.immediate import ImmediateBackend
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max


def task_enqueue(task: Task, **kwargs: Any) -> None:
    """Enqueue `task` so that it runs if, and only if, the current transaction commits.

    A backend that keeps its tasks in the database enqueues now, inside the transaction: the task commits, or
    rolls back, with the writes that asked for it, and no crash between the commit and an enqueue can lose it.
    Any other backend (the immediate one of the tests) enqueues once the transaction has committed.
    `kwargs` are plain JSON values: ids, strings, never a request or a model instance.
    """
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(**kwargs))


def tasks_requeue_interrupted(*, running_longer_than: timedelta) -> int:
    """Make ready again the tasks a worker started longer ago than `running_longer_than` and never finished.

    The worker was killed, or lost its database, in the middle of them: no worker would take them up again.
    Each task of the portal is safe to run again (an interrupted email is claimed again under its Message-ID).
    Returns how many."""
    started_before = timezone.now() - running_longer_than
    return DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=started_before).update(
        status=TaskResultStatus.READY, started_at=None
    )


def oldest_ready_task_wait() -> timedelta | None:
    """How long the task due first has waited for a worker; None when no task is due. Two aggregates, however
    long the queue: a task enqueued to run at once waits from its enqueueing, a deferred one from its run_after."""
    due, at_once = DBTaskResult.objects.ready(), Q(run_after=get_date_max())
    since = [
        due.filter(at_once).aggregate(since=Min("enqueued_at"))["since"],
        due.exclude(at_once).aggregate(since=Min("run_after"))["since"],
    ]
    waiting = [moment for moment in since if moment is not None]
    return timezone.now() - min(waiting) if waiting else None


def work_done_in_requests(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Outside DEBUG, refuse a tasks backend that runs the work inside the request that asked for it.

    The response would then wait on the work, and its timing tell whether an email address is known."""
    if settings.DEBUG:
        return []
    return [
        Error(
            f"The tasks backend {alias!r} ({type(backend).__name__}) runs each task inside the request that enqueues "
            "it: responses would wait on the mail server and tell, by their timing, whether an email is known.",
            hint="Use django_tasks_db.DatabaseBackend (the default) and run `python manage.py db_worker`.",
            id="portal_core.E001",
        )
        for alias, backend in ((alias, task_backends[alias]) for alias in settings.TASKS)
        if isinstance(backend, ImmediateBackend)
    ]
