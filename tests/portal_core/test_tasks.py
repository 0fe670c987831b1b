import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal_core.tasks import task_enqueue, tasks_requeue_interrupted

done: list[str] = []


@task
def note(*, word: str) -> None:
    done.append(word)


@pytest.fixture(autouse=True)
def _nothing_done():
    done.clear()


def test_with_the_immediate_backend_a_task_runs_only_once_its_transaction_commits(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            task_enqueue(note, word="rolled back")
            raise RuntimeError("the request's own writes failed")
        task_enqueue(note, word="committed")
        assert done == []
    assert done == ["committed"]


def test_with_the_database_backend_a_task_is_written_inside_the_transaction(db, run_worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        task_enqueue(note, word="rolled back")
        assert DBTaskResult.objects.count() == 1
        raise RuntimeError("the request's own writes failed")
    assert not DBTaskResult.objects.exists()

    task_enqueue(note, word="committed")
    assert done == []
    assert run_worker() == 1
    assert done == ["committed"]


# Django's model checks ask SQLite once whether it supports JSON fields: a query, whichever test asks first.
@pytest.mark.django_db
def test_outside_debug_the_immediate_backend_is_refused(settings):
    settings.DEBUG = False
    settings.SILENCED_SYSTEM_CHECKS = []
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(SystemCheckError, match=r"portal_core.E001.*ImmediateBackend"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())

    settings.DEBUG = True
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_tasks_a_killed_worker_left_running_are_made_ready_again_by_send_outbox(db, run_worker, settings):
    settings.TASKS_RUNNING_STALE_AFTER = timedelta(minutes=15)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        task_enqueue(note, word="interrupted")
        DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now(), worker_ids=["killed"])
        clock.shift(timedelta(minutes=14))
        task_enqueue(note, word="running")
        DBTaskResult.objects.filter(status="READY").update(status="RUNNING", started_at=timezone.now())
        assert tasks_requeue_interrupted(running_longer_than=settings.TASKS_RUNNING_STALE_AFTER) == 0

        clock.shift(timedelta(minutes=2))
        err = io.StringIO()
        call_command("send_outbox", stdout=io.StringIO(), stderr=err)

        assert "Made 1 interrupted tasks ready again for the worker." in err.getvalue()
        assert DBTaskResult.objects.filter(status="RUNNING").count() == 1
        assert run_worker() == 1
    assert done == ["interrupted"]
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").get().worker_ids[0] == "killed"
