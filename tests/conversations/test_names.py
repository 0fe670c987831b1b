"""Names in conversations: the API refuses one that invisible formatting would disguise, and the page keeps an
older one from reordering the text beside it."""

import json

import pytest
from django.test import Client

from conversations.models import Conversation, Message
from conversations.services import conversation_staff_reply
from portal_auth.api_keys import api_key_create
from portal_auth.models import Customer
from tests.conversations.factories import MessageFactory
from tests.factories import StaffUserFactory

SENT_AT = "2026-11-30T09:15:00+01:00"
DISGUISED = ["Alice\u202egnp.exe", "\u2067Alice", "Ali\u200bce", "\ufeffAlice", "Alice\u200d"]
INVISIBLE_FORMATTING = (
    "is text without invisible formatting characters (such as a right-to-left mark or a zero-width space)."
)


@pytest.fixture
def api(organisation):
    key = api_key_create(organisation=organisation, name="Backend")[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(path: str, body: dict):
        return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")

    return post


def message_in(**overrides) -> dict:
    return {
        "external_id": "wamid.1",
        "direction": "from_staff",
        "channel": "whatsapp",
        "author_name": "",
        "body": "Your seat is 12A.",
        "created_at": SENT_AT,
        **overrides,
    }


def conversation_in(*, name: str = "Ana Silva", **overrides) -> dict:
    return {
        "external_id": "whatsapp:+34600000000:2026-11-30",
        "customer": {"email": "ana@example.com", "name": name},
        "channel": "whatsapp",
        "message": message_in(),
        **overrides,
    }


def assert_refused(response, code: str, message: str) -> None:
    assert response.status_code == 422, response.content
    assert response.json() == {"code": code, "message": message}


@pytest.mark.parametrize("name", DISGUISED)
def test_a_customer_name_with_invisible_formatting_is_a_422_and_nothing_is_written(api, name):
    response = api("/conversations", conversation_in(name=name))

    assert_refused(response, "invalid_name", f"The name {INVISIBLE_FORMATTING}")
    assert not Conversation.objects.exists() and not Message.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize("name", DISGUISED)
def test_a_first_messages_author_name_with_invisible_formatting_is_a_422_and_nothing_is_written(api, name):
    response = api("/conversations", conversation_in(message=message_in(author_name=name)))

    assert_refused(response, "invalid_author_name", f"The author name {INVISIBLE_FORMATTING}")
    assert not Conversation.objects.exists() and not Message.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize("name", DISGUISED)
def test_an_added_messages_author_name_with_invisible_formatting_is_a_422_and_nothing_is_written(
    api, conversation, name
):
    response = api(f"/conversations/{conversation.pk}/messages", message_in(author_name=name))

    assert_refused(response, "invalid_author_name", f"The author name {INVISIBLE_FORMATTING}")
    assert not conversation.messages.exists()


def test_names_with_joiners_that_join_their_letters_are_taken(api):
    persian = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"  # a zero-width non-joiner inside the name
    chef = "Chef \U0001f468\u200d\U0001f373"  # an emoji made of two and a joiner

    response = api("/conversations", conversation_in(name=persian, message=message_in(author_name=chef)))

    assert response.status_code == 201, response.content
    assert Customer.objects.get().name == persian
    assert Message.objects.get().author_name == chef


def test_a_subject_is_not_a_name_and_is_kept_as_its_channel_sent_it(api):
    subject = "Re: \u05d4\u05d6\u05de\u05e0\u05d4 \u200f#1042"  # a right-to-left mark from a Hebrew mail client

    assert api("/conversations", conversation_in(subject=subject)).status_code == 201

    assert Conversation.objects.get().subject == subject


def test_an_older_author_name_with_an_override_is_isolated_from_the_text_beside_it(sign_in, conversation):
    # Written before the API refused such names: left as it is, and kept from reordering the time and channel after it.
    MessageFactory(conversation=conversation, direction=Message.Direction.FROM_STAFF, author_name="Sam\u202e")

    response = sign_in(conversation.customer).get(f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")

    assert "<strong><bdi>Sam\u202e</bdi></strong>" in response.content.decode()


@pytest.mark.django_db
def test_a_staff_members_reply_is_signed_without_the_hidden_characters_of_their_name(make_conversation):
    staff = StaffUserFactory(first_name="Ana\u202e", last_name="\u200bLima")
    conversation = make_conversation()

    message = conversation_staff_reply(conversation=conversation, staff_user=staff, body="On its way.", internal=False)

    assert message.author_name == "Ana Lima"
