"""Staff create a ticket on the admin's add page: once per page shown, however often it is saved or sent again."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.test import Client

from outbox.models import OutboxEmail
from portal_auth.models import CustomerToken
from tests.concurrency import calls_at_once
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory, StaffUserFactory
from tests.tickets.factories import TicketSettingsFactory
from tickets.models import Ticket, TicketMessage

ADD_URL = "/admin/tickets/ticket/add/"
CREATED_ALREADY = "was created already from this page, so it was not created again."


def add_page_data(client, customer, **fields) -> dict:
    """What the add page, shown now, posts with a new ticket for `customer` and a public reply."""
    shown = admin_page_data(client.get(ADD_URL))
    return {
        **shown,
        "organisation": customer.organisation.pk,
        "requester": customer.pk,
        "subject": "Your booking documents",
        "reply": "We need your passport.",
        "reply_kind": "public",
        **fields,
    }


def test_the_same_add_page_saved_twice_creates_one_ticket_and_emails_once(
    admin_client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    data = add_page_data(admin_client, customer)

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(ADD_URL, data)
        again = admin_client.post(ADD_URL, data, follow=True)

    assert first.status_code == 302
    ticket = Ticket.objects.get()
    assert again.redirect_chain == [(f"/admin/tickets/ticket/{ticket.pk}/change/", 302)]
    assert f"The ticket “#1 Your booking documents” {CREATED_ALREADY}" in again.content.decode()
    assert TicketMessage.objects.get().body == "We need your passport."
    assert [email.to for email in mailoutbox] == [[customer.email]]
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1
    # A page shown afresh is a new sending: the same words from it are a second ticket, which takes the next number
    # (the second save took none).
    admin_client.post(ADD_URL, add_page_data(admin_client, customer))
    assert list(Ticket.objects.order_by("number").values_list("number", "subject")) == [
        (1, "Your booking documents"),
        (2, "Your booking documents"),
    ]


def test_the_same_add_page_saved_twice_emails_one_portal_link(
    admin_client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    TicketSettingsFactory(organisation=customer.organisation, link_on_staff_ticket=True)
    data = add_page_data(admin_client, customer)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert admin_client.post(ADD_URL, data).status_code == 302

    assert Ticket.objects.count() == 1
    [email] = mailoutbox
    assert email.to == [customer.email] and "/support/portal/" in email.body
    assert CustomerToken.objects.count() == 1


def test_the_same_add_page_sent_again_for_another_organisation_creates_nothing(
    admin_client, customer, other_organisation
):
    data = add_page_data(admin_client, customer)
    admin_client.post(ADD_URL, data)
    stranger = CustomerFactory(organisation=other_organisation)

    again = admin_client.post(ADD_URL, {**data, "organisation": other_organisation.pk, "requester": stranger.pk})

    ticket = Ticket.objects.get()
    assert again["Location"] == f"/admin/tickets/ticket/{ticket.pk}/change/"
    assert ticket.organisation == customer.organisation


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_the_same_add_page_saved_twice_at_the_same_moment_creates_one_ticket_and_one_email():
    staff_user = StaffUserFactory()
    customer = CustomerFactory()
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)
    data = add_page_data(clients[0], customer)

    answers, errors = calls_at_once(2, lambda: clients.pop().post(ADD_URL, data))

    assert errors == []
    assert [answer.status_code for answer in answers] == [302, 302]
    ticket = Ticket.objects.get()
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in [answer["Location"] for answer in answers]
    assert ticket.number == 1 and ticket.messages.count() == 1
    assert OutboxEmail.objects.filter(to=customer.email).count() == 1
