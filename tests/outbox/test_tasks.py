import io
import logging
import threading
import time

import pytest
from django.core.management import call_command

from outbox.background import SerialWorker, after_commit_in_background
from outbox.models import OutboxEmail
from outbox.services import _sender, email_enqueue
from tests.factories import CustomerFactory


@pytest.mark.django_db(transaction=True)
def test_work_runs_after_commit_in_another_thread_and_failures_are_logged(settings, caplog):
    settings.OUTBOX_SEND_IN_BACKGROUND = True
    ran_in, done = [], threading.Event()

    def work():
        ran_in.append(threading.get_ident())
        done.set()
        raise RuntimeError("the mail server is on fire")

    with caplog.at_level(logging.ERROR, logger="outbox.background"):
        after_commit_in_background(work, description="test work")  # autocommit: "after commit" is now
        assert done.wait(5)
        for thread in threading.enumerate():
            if thread.name == "test work":
                thread.join(5)
    assert ran_in and ran_in[0] != threading.get_ident()
    assert "Background work failed: test work" in caplog.text


def test_inline_when_background_is_off(settings, django_capture_on_commit_callbacks, db):
    settings.OUTBOX_SEND_IN_BACKGROUND = False
    ran_in = []
    with django_capture_on_commit_callbacks(execute=True):
        after_commit_in_background(lambda: ran_in.append(threading.get_ident()), description="inline work")
        assert ran_in == []  # not before the commit
    assert ran_in == [threading.get_ident()]


EMAILS = 200


@pytest.mark.django_db(transaction=True)
def test_emails_to_a_silent_mail_server_hold_a_few_database_connections_and_no_long_transaction(
    settings, organisation, silent_smtp_server, database_activity
):
    settings.OUTBOX_SEND_IN_BACKGROUND = True
    customer = CustomerFactory.build(organisation=organisation, name="Ana")
    with database_activity() as activity:
        for number in range(EMAILS):  # each commits, and its delivery starts in the background
            email_enqueue(
                organisation=organisation,
                to=f"reader{number}@example.com",
                template="portal_auth/emails/password_changed",
                context={"customer": customer, "sign_in_link": "https://portal.example.test/x/sign-in/"},
            )
        started = time.monotonic()
        call_command("send_outbox", "--time-budget", "5", stdout=io.StringIO(), stderr=io.StringIO())
        elapsed = time.monotonic() - started
        assert _sender.wait_idle(timeout=60)

    print(
        f"{EMAILS} emails: at most {activity.most_connections} database connections, longest transaction "
        f"{activity.longest_transaction:.3f} s, {len(silent_smtp_server.accepted)} SMTP connections, "
        f"send_outbox {elapsed:.1f} s"
    )
    # This test's own connection and the background sender's; send_outbox runs in this thread.
    assert activity.most_connections <= 2
    assert activity.longest_transaction < 0.5  # no transaction open while the mail server keeps silent (1 s)
    assert elapsed < 5
    assert len(silent_smtp_server.accepted) == 2  # the sender and send_outbox each gave up at the first timeout
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).count() == EMAILS
    assert OutboxEmail.objects.filter(attempts__gt=0).count() == len(silent_smtp_server.accepted)
    assert activity.connections_now() == 1  # the idle sender holds none; this one is the test's


def test_one_worker_thread_takes_every_batch_submitted_from_many_threads(settings):
    settings.OUTBOX_SEND_IN_BACKGROUND = True
    batches, workers = [], set()

    def work(ids):
        workers.add(threading.get_ident())
        batches.append(ids)

    worker = SerialWorker(work, name="test worker", batch_size=50)
    submitters = [threading.Thread(target=worker.submit, args=([n],)) for n in range(120)]
    for submitter in submitters:
        submitter.start()
    for submitter in submitters:
        submitter.join(5)
    assert worker.wait_idle(timeout=5)
    assert sorted(pk for batch in batches for pk in batch) == list(range(120))
    assert max(len(batch) for batch in batches) <= 50
    assert len(workers) == 1 and threading.get_ident() not in workers
