"""The emails a customer turned off on their profile are not sent; those a sign-in needs always are."""

import pytest

from conversations.services import conversation_staff_reply
from outbox.models import OutboxEmail
from portal_auth.services import password_link_send
from portal_core.origin import ClientOrigin
from portal_core.sections import optional_emails
from tests.conversations.factories import ConversationFactory
from tests.tickets.factories import TicketFactory, TicketMessageFactory
from tickets.services import ticket_staff_messages_publish

ORIGIN = ClientOrigin(ip="127.0.0.1", user_agent="pytest")


def choose(client, customer, **emails: bool) -> None:
    """Tick (or not) the profile's email boxes and save, as the customer does."""
    data = {f"email_{key}": "on" for key, wanted in emails.items() if wanted}
    response = client.post(f"/{customer.organisation.slug}/profile/", data)
    assert response.status_code == 302


def staff_reply_to_ticket(customer, staff_user) -> None:
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    reply = TicketMessageFactory(
        ticket=ticket, from_staff=True, author_staff=staff_user, body="Your bag is on its way."
    )
    ticket_staff_messages_publish(ticket=ticket, messages=[reply], staff_user=staff_user, created=False)


def staff_reply_in_conversation(customer, staff_user) -> None:
    conversation = ConversationFactory(customer=customer)
    conversation_staff_reply(
        conversation=conversation, staff_user=staff_user, body="Seat 12A is yours.", internal=False
    )


REPLIES = {
    "ticket_replies": (staff_reply_to_ticket, "tickets/emails/staff_reply"),
    "conversation_replies": (staff_reply_in_conversation, "conversations/emails/staff_reply"),
}


@pytest.mark.parametrize("key", REPLIES)
def test_a_customer_who_turned_replies_off_gets_none_and_one_who_turns_them_on_again_does(
    sign_in, customer, staff_user, key
):
    reply, template = REPLIES[key]
    client = sign_in(customer)
    others = {other: True for other in REPLIES if other != key}

    choose(client, customer, **others)
    customer.refresh_from_db()
    reply(customer, staff_user)
    assert not OutboxEmail.objects.filter(template=template).exists()
    assert OutboxEmail.objects.count() == 0  # nor a sign-in link made for it

    choose(client, customer, **{key: True}, **others)
    customer.refresh_from_db()
    reply(customer, staff_user)
    assert OutboxEmail.objects.get(template=template).to == customer.email


def test_replies_are_sent_to_a_customer_who_never_chose(customer, staff_user):
    staff_reply_to_ticket(customer, staff_user)
    staff_reply_in_conversation(customer, staff_user)
    assert sorted(OutboxEmail.objects.values_list("template", flat=True)) == [
        "conversations/emails/staff_reply",
        "tickets/emails/staff_reply",
    ]


def test_a_password_link_goes_out_whatever_the_customer_chose(sign_in, customer):
    choose(sign_in(customer), customer)  # every box unticked
    customer.refresh_from_db()
    password_link_send(origin=ORIGIN, organisation=customer.organisation, email=customer.email)
    assert OutboxEmail.objects.get().template == "portal_auth/emails/password_link"


def test_each_section_declares_its_optional_emails_and_news_waits_for_a_yes():
    declared = {email.key: email.default for email in optional_emails()}
    assert declared == {"ticket_replies": True, "conversation_replies": True, "news": False}


def test_the_support_pages_promise_a_reply_email_only_to_who_wants_one(sign_in, customer):
    client = sign_in(customer)
    support = f"/{customer.organisation.slug}/support"
    assert "We'll email" in client.get(f"{support}/new/").content.decode()

    choose(client, customer, conversation_replies=True)
    new_ticket = client.get(f"{support}/new/").content.decode()
    created = client.post(f"{support}/new/", {"subject": "Lost bag", "priority": "normal", "body": "Blue, small."})
    thanks = client.get(created["Location"]).content.decode()

    assert "you turned reply emails off on your profile" in new_ticket and "We'll email" not in new_ticket
    assert "Our answer will be on the ticket's page." in thanks
    received = OutboxEmail.objects.get(template="tickets/emails/ticket_received")
    assert "Our answer will be on the ticket's page in the portal." in received.body_text
    assert "We'll email you when we answer." not in received.body_text + received.body_html
