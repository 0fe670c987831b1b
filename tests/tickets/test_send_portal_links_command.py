"""`manage.py send_portal_links`: a link per matching ticket, by status and organisation, with progress."""

import asyncio
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from outbox.models import OutboxEmail
from portal_auth.models import AccessEvent, CustomerToken
from tests.factories import CustomerFactory
from tests.outbox.mail_servers import SilentSmtpServer, smtp_mailers, smtp_server_with_handler
from tests.smtp import RecordingHandler
from tickets.management.commands import send_portal_links
from tickets.models import Ticket


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("send_portal_links", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def tickets(make_ticket, other_organisation, organisation):
    def requester(org):
        return CustomerFactory(organisation=org)

    return {
        "open": make_ticket(status="open", requester=requester(organisation)),
        "pending": make_ticket(status="pending", requester=requester(organisation)),
        "closed": make_ticket(status="closed", requester=requester(organisation)),
        "elsewhere": make_ticket(organisation=other_organisation, status="open"),
    }


def recipients(mailoutbox):
    return sorted(m.to[0] for m in mailoutbox)


# The command commits each link, then sends its emails itself: these tests commit as it does.
pytestmark = pytest.mark.django_db(transaction=True)


def test_by_default_every_ticket_but_closed_ones(tickets, mailoutbox):
    out, err = run()
    assert "Sent 3 portal links." in out
    assert "[##############################] 3/3 (100%)" in err
    expected = [tickets[k].requester.email for k in ("open", "pending", "elsewhere")]
    assert recipients(mailoutbox) == sorted(expected)
    assert CustomerToken.objects.count() == 3
    assert all("/support/portal/" in m.body for m in mailoutbox)


def test_organisations_that_closed_emailed_links_are_skipped_and_named(tickets, other_organisation, mailoutbox):
    other_organisation.doors = ["password"]
    other_organisation.save()

    out, err = run("--no-progress")

    assert "Sent 2 portal links." in out
    assert f"closed emailed sign-in links: {other_organisation.slug}" in err
    assert tickets["elsewhere"].requester.email not in recipients(mailoutbox)


def test_the_access_log_names_the_command_where_a_browser_would_be(
    tickets, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run("--no-progress")
    sent = AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_SENT)
    assert sent.count() == 3
    assert set(sent.values_list("ip", "user_agent")) == {(None, "manage.py send_portal_links")}


def test_by_status_and_organisation(tickets, organisation, mailoutbox):
    out, _ = run("--organisation", organisation.slug, "--status", "open", "--status", "closed", "--no-progress")
    assert "Sent 2 portal links." in out
    assert recipients(mailoutbox) == sorted([tickets["open"].requester.email, tickets["closed"].requester.email])


def test_dry_run_sends_nothing(tickets, mailoutbox):
    out, _ = run("--dry-run")
    assert "3 tickets would get a portal link." in out
    assert not CustomerToken.objects.exists()


def test_unknown_organisation_or_status_is_an_error(db):
    with pytest.raises(CommandError, match="No organisation with slug nowhere"):
        run("--organisation", "nowhere")
    with pytest.raises(CommandError):
        run("--status", "lost")


def test_progress_is_reported_every_tenth(make_ticket, organisation):
    for _ in range(20):
        make_ticket(status=Ticket.Status.OPEN)
    _, err = run()
    lines = err.strip().splitlines()
    assert len(lines) == 10
    assert lines[-1] == "[##############################] 20/20 (100%)"


def test_every_email_is_delivered_before_the_command_exits(make_ticket, organisation, smtp_server, database_tasks):
    # As in production, where delivery tasks wait for a worker: the command delivers its own emails itself.
    for _ in range(30):
        make_ticket(status=Ticket.Status.OPEN, requester=CustomerFactory(organisation=organisation))

    out, err = run("--no-progress")

    assert "Sent 30 portal links." in out and err == ""
    assert len(smtp_server.messages) == 30
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count() == 30
    assert not OutboxEmail.objects.exclude(status=OutboxEmail.Status.SENT).exists()


def test_emails_the_mail_server_refused_wait_in_the_outbox_and_the_command_says_so(
    make_ticket, organisation, smtp_server
):
    smtp_server.refuse()
    for _ in range(3):
        make_ticket(status=Ticket.Status.OPEN, requester=CustomerFactory(organisation=organisation))

    out, err = run("--no-progress")

    assert "Sent 3 portal links." in out
    assert "Emails: 0 delivered, 3 failed. The other 3 wait in the outbox, where send_outbox retries them." in err
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, attempts=1).count() == 3


class VerySlowHandler(RecordingHandler):
    """A mail server that takes half a second over each email, and accepts it."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.5)
        return await super().handle_DATA(server, session, envelope)


def open_tickets(make_ticket, organisation, count):
    for _ in range(count):
        make_ticket(status=Ticket.Status.OPEN, requester=CustomerFactory(organisation=organisation))


@pytest.fixture
def silent_smtp_server(settings):
    server = SilentSmtpServer()
    settings.MAILERS = smtp_mailers(server.port, timeout=1)
    yield server
    server.stop()


@pytest.fixture
def very_slow_smtp_server(settings):
    server = smtp_server_with_handler(VerySlowHandler())
    settings.MAILERS = smtp_mailers(server.port, timeout=5)
    yield server
    server.stop()


def test_a_silent_mail_server_is_tried_once_and_the_rest_wait_in_the_outbox(
    make_ticket, organisation, silent_smtp_server, monkeypatch
):
    monkeypatch.setattr(send_portal_links, "DELIVERY_BATCH", 5)
    open_tickets(make_ticket, organisation, 10)

    out, err = run("--no-progress")

    assert "Sent 10 portal links." in out
    assert len(silent_smtp_server.accepted) == 1  # not once per email, nor once per batch
    assert "Emails: 0 delivered, 1 failed, then stopped: the mail server could not be reached" in err
    assert "The other 10 wait in the outbox, where send_outbox retries them." in err
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).count() == 10


def test_a_batch_that_runs_out_of_time_does_not_stop_the_next(
    make_ticket, organisation, very_slow_smtp_server, settings, monkeypatch
):
    monkeypatch.setattr(send_portal_links, "DELIVERY_BATCH", 5)
    settings.OUTBOX_SEND_TIME_BUDGET = 0.15  # room for one slow email per batch
    smtp_server = very_slow_smtp_server
    open_tickets(make_ticket, organisation, 10)

    out, err = run("--no-progress")

    assert len(smtp_server.messages) == 2
    assert "Emails: 2 delivered, 0 failed. The other 8 wait in the outbox" in err


def test_batches_sent_side_by_side_deliver_each_email_once(make_ticket, organisation, smtp_server, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the command sends one batch at a time there")
    monkeypatch.setattr(send_portal_links, "DELIVERY_BATCH", 5)
    open_tickets(make_ticket, organisation, 40)

    out, err = run("--no-progress", "--senders", "3")

    assert "Sent 40 portal links." in out and err == ""
    recipients = sorted(str(message["To"]) for message in smtp_server.messages)
    assert recipients == sorted(Ticket.objects.values_list("requester__email", flat=True))
    assert len({message["Message-ID"] for message in smtp_server.messages}) == 40
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT, attempts=1).count() == 40


def test_links_of_several_organisations_each_come_from_their_own(
    make_ticket, organisation, other_organisation, mailoutbox
):
    for org in (organisation, other_organisation, organisation):
        make_ticket(organisation=org, status=Ticket.Status.OPEN, requester=CustomerFactory(organisation=org))

    run("--no-progress")

    for ticket in Ticket.objects.select_related("requester", "organisation"):
        [message] = [m for m in mailoutbox if m.to == [ticket.requester.email]]
        assert ticket.organisation.public_name in message.from_email
        assert f"/{ticket.organisation.slug}/" in message.body


def test_deactivated_requesters_are_sent_nothing(tickets, mailoutbox):
    gone = tickets["pending"].requester
    gone.is_active = False
    gone.save()

    out, _err = run()

    assert "Sent 2 portal links." in out
    assert gone.email not in recipients(mailoutbox)
    assert not CustomerToken.objects.filter(customer=gone).exists()
