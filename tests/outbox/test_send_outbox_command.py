"""`manage.py send_outbox`: bounded in time however many emails wait, and never two senders for one email."""

import asyncio
import io
import time
from datetime import timedelta

import psycopg
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from outbox.models import OutboxEmail
from outbox.services import outbox_deliver
from tests.outbox.factories import OutboxEmailFactory
from tests.smtp import RecordingHandler


def send_outbox(*args):
    """What the command printed, its error (a CommandError, for an exit status other than 0) and how long it took."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        call_command("send_outbox", *args, stdout=out, stderr=err)
    except CommandError as error:
        err.write(f"CommandError: {error}")
    return out.getvalue(), err.getvalue(), time.monotonic() - started


def statuses():
    return dict(OutboxEmail.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def test_a_silent_mail_server_ends_the_run_at_its_first_timeout(silent_smtp_server, waiting_emails):
    waiting_emails(200)
    waiting_emails(2, status=OutboxEmail.Status.FAILED)

    out, err, elapsed = send_outbox("--time-budget", "30")

    assert elapsed < 5  # one EMAIL_TIMEOUT (1 s), not 200 of them
    assert len(silent_smtp_server.accepted) == 1
    assert "Sent 0, failed 1, still waiting 200. Given up on 2 (send them again from the admin)." in out
    # Exits with an error cron or systemd can report.
    assert "CommandError: Stopped early: the mail server could not be reached" in err and "timed out" in err
    assert statuses() == {"pending": 200, "failed": 2}  # none left "sending"
    [tried] = OutboxEmail.objects.filter(attempts=1)
    assert "timed out" in tried.last_error and tried.next_attempt_at > timezone.now()
    assert not OutboxEmail.objects.filter(attempts__gt=0).exclude(pk=tried.pk).exists()


class SlowHandler(RecordingHandler):
    """A mail server that takes a while over each email, and accepts it."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.2)
        return await super().handle_DATA(server, session, envelope)


def test_a_run_stops_trying_new_emails_once_its_time_budget_is_spent(smtp_server_with, waiting_emails):
    smtp_server = smtp_server_with(SlowHandler())
    waiting_emails(100)

    out, err, elapsed = send_outbox("--time-budget", "1")

    sent = len(smtp_server.messages)
    assert 2 <= sent <= 8
    assert elapsed < 2.5  # the budget, plus the email under way when it ran out
    assert f"Sent {sent}, failed 0, still waiting {100 - sent}" in out
    assert "Stopped early: its time budget of 1 s was spent" in err and "CommandError" not in err
    assert statuses() == {"sent": sent, "pending": 100 - sent}
    assert not OutboxEmail.objects.filter(status="pending", attempts__gt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_an_email_interrupted_while_sending_is_sent_again_with_its_message_id_only_once_stale(
    smtp_server, organisation, settings
):
    settings.OUTBOX_SENDING_STALE_AFTER = timedelta(minutes=15)
    now = timezone.now()
    email = OutboxEmailFactory(
        organisation=organisation,
        status=OutboxEmail.Status.SENDING,
        claimed_by="web-1:4242:abcd",
        claimed_at=now,
        message_id="<outbox-1-0123456789abcdef@localhost>",
    )

    send_outbox()
    with time_machine.travel(now + timedelta(minutes=14)):
        send_outbox()
    assert smtp_server.messages == []  # maybe still being sent: not a second copy yet

    with time_machine.travel(now + timedelta(minutes=16)):
        out, _, _ = send_outbox()
    assert "Sent 1, failed 0" in out
    [message] = smtp_server.messages
    assert message["Message-ID"] == "<outbox-1-0123456789abcdef@localhost>"
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.claimed_by == "" and email.claimed_at is None


class DatabaseDroppingHandler(RecordingHandler):
    """Accepts the email, and at that moment every connection to the test database is cut."""

    def __init__(self, database: str, params: dict):
        super().__init__()
        self.database, self.params = database, params

    async def handle_DATA(self, server, session, envelope):
        with psycopg.connect(**self.params) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_an_email_accepted_as_the_database_went_away_is_not_sent_again_until_stale(
    smtp_server_with, organisation, database_activity, settings
):
    settings.OUTBOX_SENDING_STALE_AFTER = timedelta(minutes=15)
    observer = database_activity()
    smtp_server = smtp_server_with(DatabaseDroppingHandler(observer.database, observer.params))
    email = OutboxEmailFactory(organisation=organisation)
    now = timezone.now()

    with pytest.raises(Exception, match="terminat|closed|server"):
        outbox_deliver()
    connection.close()  # what a new process (the next cron run) starts with

    [first] = smtp_server.messages
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENDING and email.message_id == first["Message-ID"]
    smtp_server.handler.database = "not-this-one"  # the database stays up from now on
    assert outbox_deliver().sent == 0
    assert len(smtp_server.messages) == 1  # the next run does not send it again...

    with time_machine.travel(now + timedelta(minutes=16)):
        assert outbox_deliver().sent == 1  # ...until the claim is stale: then once more, the same Message-ID
    second = smtp_server.messages[1]
    assert second["Message-ID"] == first["Message-ID"]
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.attempts == 1
