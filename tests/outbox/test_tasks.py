from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from outbox.models import OutboxEmail
from outbox.services import email_enqueue, outbox_requeue
from outbox.tasks import PAUSE_AFTER_UNREACHABLE
from tests.factories import CustomerFactory
from tests.outbox.factories import OutboxEmailFactory


def enqueue_email(organisation, to="reader@example.com"):
    customer = CustomerFactory.build(organisation=organisation, name="Ana")
    return email_enqueue(
        organisation=organisation,
        to=to,
        template="portal_auth/emails/password_changed",
        context={"customer": customer, "sign_in_link": "https://portal.example.test/x/sign-in/"},
    )


def delivery_tasks(**filters):
    return DBTaskResult.objects.filter(task_path="outbox.tasks.outbox_deliver_task", **filters)


def test_an_email_and_its_delivery_task_are_written_in_one_transaction(organisation, database_tasks):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_email(organisation)
        assert delivery_tasks().count() == 1  # written now, not after commit
        raise RuntimeError("the action that caused the email failed")
    assert not OutboxEmail.objects.exists()
    assert not delivery_tasks().exists()

    email = enqueue_email(organisation)
    [task] = delivery_tasks()
    assert task.args_kwargs == {"args": [], "kwargs": {"ids": [email.pk]}}
    assert task.status == "READY"


def test_the_worker_delivers_the_email_once_with_its_message_id(organisation, smtp_server, run_worker):
    email = enqueue_email(organisation)
    assert smtp_server.messages == []  # nothing is sent by the request itself

    assert run_worker() == 1

    [message] = smtp_server.messages
    email.refresh_from_db()
    assert message["Message-ID"] == email.message_id
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1
    assert delivery_tasks(status="SUCCESSFUL").count() == 1
    assert run_worker() == 0


def test_a_refused_email_is_retried_by_a_later_task_at_the_outbox_back_off(organisation, smtp_server, run_worker):
    smtp_server.refuse()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        email = enqueue_email(organisation)
        run_worker()
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.PENDING and email.attempts == 1
        [retry] = delivery_tasks(status="READY")
        assert retry.args_kwargs["kwargs"] == {"ids": [email.pk]}
        # Never before the outbox's next attempt (a minute after the first failure), at most a minute after it.
        assert email.next_attempt_at <= retry.run_after < email.next_attempt_at + timedelta(minutes=1)
        assert run_worker() == 0  # not due yet

        smtp_server.refuse(False)
        clock.move_to(retry.run_after)
        assert run_worker() == 1

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 2
    assert len(smtp_server.messages) == 1
    assert not delivery_tasks(status="READY").exists()


def test_an_email_given_up_on_gets_no_further_task(organisation, smtp_server, settings, run_worker):
    settings.OUTBOX_RETRY_HORIZON = timedelta(seconds=30)  # the first retry would fall beyond it
    smtp_server.refuse()
    email = enqueue_email(organisation)
    run_worker()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED
    assert not delivery_tasks(status="READY").exists()


def test_after_the_mail_server_failed_to_answer_the_worker_waits_instead_of_timing_out_on_each_email(
    organisation, silent_smtp_server, run_worker
):
    with time_machine.travel(timezone.now(), tick=False):
        emails = [enqueue_email(organisation, to=f"reader{number}@example.com") for number in range(20)]
        assert run_worker() == 20

        # One conversation timed out (EMAIL_TIMEOUT = 1 s); the other 19 were not even tried.
        assert len(silent_smtp_server.accepted) == 1
        assert OutboxEmail.objects.filter(attempts=1).count() == 1
        assert OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).count() == 20
        later = timezone.now() + timedelta(seconds=PAUSE_AFTER_UNREACHABLE)
        retried = {pk for task in delivery_tasks(status="READY") for pk in task.args_kwargs["kwargs"]["ids"]}
        assert retried == {email.pk for email in emails}
        assert all(task.run_after >= later for task in delivery_tasks(status="READY"))


def test_emails_sent_again_by_staff_get_one_delivery_task(organisation, database_tasks):
    emails = OutboxEmailFactory.waiting(3, organisation=organisation, status=OutboxEmail.Status.FAILED)
    DBTaskResult.objects.all().delete()

    assert outbox_requeue(ids=[email.pk for email in emails]) == 3

    [task] = delivery_tasks()
    assert sorted(task.args_kwargs["kwargs"]["ids"]) == sorted(email.pk for email in emails)
