"""`manage.py send_portal_links`: a link per matching ticket, by status and organisation, with progress."""

import io

import pytest
from django.core.management import CommandError, call_command

from portal_auth.models import AccessEvent, CustomerToken
from tests.factories import CustomerFactory
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


def test_by_default_every_ticket_but_closed_ones(tickets, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run()
    assert "Sent 3 portal links." in out
    assert "[##############################] 3/3 (100%)" in err
    expected = [tickets[k].requester.email for k in ("open", "pending", "elsewhere")]
    assert recipients(mailoutbox) == sorted(expected)
    assert CustomerToken.objects.count() == 3
    assert all("/support/portal/" in m.body for m in mailoutbox)


def test_the_access_log_names_the_command_where_a_browser_would_be(
    tickets, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run("--no-progress")
    sent = AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_LINK_SENT)
    assert sent.count() == 3
    assert set(sent.values_list("ip", "user_agent")) == {(None, "manage.py send_portal_links")}


def test_by_status_and_organisation(tickets, organisation, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
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
