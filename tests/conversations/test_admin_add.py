"""Staff create a conversation on the admin's add page: once per page shown, however often it is saved or sent
again."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.test import Client

from conversations.models import Channel, Conversation, Message
from outbox.models import OutboxEmail
from tests.concurrency import calls_at_once
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory, StaffUserFactory

ADD_URL = "/admin/conversations/conversation/add/"


def add_page_data(client, customer, **fields) -> dict:
    """What the add page, shown now, posts with a new conversation for `customer` and a public reply."""
    shown = admin_page_data(client.get(ADD_URL))
    return {
        **shown,
        "organisation": customer.organisation.pk,
        "customer": customer.pk,
        "channel": Channel.EMAIL,
        "subject": "Your visa",
        "reply": "Here is what you need.",
        "reply_kind": "public",
        **fields,
    }


def test_the_same_add_page_saved_twice_creates_one_conversation_and_emails_once(
    admin_client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    data = add_page_data(admin_client, customer)

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(ADD_URL, data)
        again = admin_client.post(ADD_URL, data, follow=True)

    assert first.status_code == 302
    conversation = Conversation.objects.get()
    assert again.redirect_chain == [(f"/admin/conversations/conversation/{conversation.pk}/change/", 302)]
    assert (
        "The conversation “Your visa” was created already from this page, so it was not created again."
        in again.content.decode()
    )
    assert Message.objects.get().body == "Here is what you need."
    assert [email.to for email in mailoutbox] == [[customer.email]]
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1
    # A page shown afresh is a new sending: the same words from it are a second conversation.
    admin_client.post(ADD_URL, add_page_data(admin_client, customer))
    assert Conversation.objects.filter(subject="Your visa").count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_the_same_add_page_saved_twice_at_the_same_moment_creates_one_conversation_and_one_email():
    staff_user = StaffUserFactory()
    customer = CustomerFactory()
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)
    data = add_page_data(clients[0], customer)

    answers, errors = calls_at_once(2, lambda: clients.pop().post(ADD_URL, data))

    assert errors == []
    assert [answer.status_code for answer in answers] == [302, 302]
    conversation = Conversation.objects.get()
    assert f"/admin/conversations/conversation/{conversation.pk}/change/" in [answer["Location"] for answer in answers]
    assert conversation.messages.count() == 1
    assert OutboxEmail.objects.filter(to=customer.email).count() == 1
