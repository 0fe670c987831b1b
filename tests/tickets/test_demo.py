"""tickets/demo.py: the demo tickets, and a link that opens them for alice."""

import io

from django.test import Client

from tests.tickets.conftest import open_access_link
from tickets.demo import seed_demo
from tickets.models import Ticket, TicketMessage


def test_seed_demo_adds_tickets_with_internal_notes_and_prints_a_link_for_alice(organisation, staff_user):
    out = io.StringIO()
    seed_demo(organisation=organisation, stdout=out)
    assert set(Ticket.objects.values_list("requester__email", flat=True)) == {"alice@example.com", "bob@example.com"}
    assert TicketMessage.objects.filter(internal=True).exists()
    link = next(line.strip() for line in out.getvalue().splitlines() if "/support/portal/" in line)

    response = open_access_link(Client(), link)
    assert response["Location"] == f"/{organisation.slug}/support/1/"
    again = io.StringIO()
    seed_demo(organisation=organisation, stdout=again)
    assert "exist already" in again.getvalue()
    assert Ticket.objects.count() == 3
