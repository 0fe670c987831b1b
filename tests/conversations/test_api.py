"""The conversations API: conversations and messages of the business's other channels, mirrored into the portal."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from conversations.models import Channel, Conversation, Message
from portal_auth.api_keys import api_key_create
from portal_auth.models import ApiCall, Customer
from tests.concurrency import calls_at_once
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.factories import CustomerFactory, OrganisationFactory

SENT_AT = "2026-11-30T09:15:00+01:00"


class ApiClient:
    def __init__(self, key: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(self, path, body):
        return self.client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")


@pytest.fixture
def api(organisation):
    return ApiClient(api_key_create(organisation=organisation, name="Backend")[1])


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    return body


def message_in(**overrides):
    return {
        "external_id": "wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQTJD",
        "direction": "from_customer",
        "channel": "whatsapp",
        "author_name": "",
        "body": "Hello, my flight\r\nis delayed.",
        "created_at": SENT_AT,
        **overrides,
    }


def conversation_in(**overrides):
    return {
        "external_id": "whatsapp:+34600000000:2026-11-30",
        "customer": {"email": " Ana@Example.com ", "name": "Ana Silva"},
        "channel": "whatsapp",
        "subject": "Delayed  flight",
        "attributes": {"order_number": "A-1042"},
        "message": message_in(),
        **overrides,
    }


def detail_path(conversation):
    return f"/{conversation.organisation.slug}/conversations/{conversation.pk}/"


# Creating a conversation


def test_a_conversation_is_created_with_its_first_message_for_a_new_customer(api, organisation, mailoutbox):
    response = api.post("/conversations", conversation_in())

    assert response.status_code == 201, response.content
    conversation = Conversation.objects.get()
    message = conversation.messages.get()
    sent_at = datetime.datetime(2026, 11, 30, 8, 15, tzinfo=datetime.UTC)
    assert response.json() == {
        "id": conversation.pk,
        "external_id": "whatsapp:+34600000000:2026-11-30",
        "customer": {"email": "ana@example.com", "name": "Ana Silva"},
        "channel": "whatsapp",
        "subject": "Delayed flight",
        "status": "open",
        "attributes": {"order_number": "A-1042"},
        "created_at": "2026-11-30T08:15:00Z",
        "message": {
            "id": message.pk,
            "conversation": conversation.pk,
            "external_id": "wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQTJD",
            "direction": "from_customer",
            "channel": "whatsapp",
            "author_name": "Ana Silva",
            "body": "Hello, my flight\nis delayed.",
            "created_at": "2026-11-30T08:15:00Z",
            "attachments": [],
        },
    }
    customer = Customer.objects.get()
    assert (customer.organisation, customer.email, customer.name) == (organisation, "ana@example.com", "Ana Silva")
    assert (conversation.organisation, conversation.customer, conversation.channel) == (
        organisation,
        customer,
        "whatsapp",
    )
    assert conversation.created_at == conversation.last_activity_at == message.created_at == sent_at
    assert (message.direction, message.channel, message.internal) == ("from_customer", "whatsapp", False)
    assert mailoutbox == []  # the business's channel has it already


def test_the_customer_is_found_by_email_and_keeps_their_name(api, organisation):
    known = CustomerFactory(organisation=organisation, email="ana@example.com", name="Ana S.")
    CustomerFactory(organisation=OrganisationFactory(), email="ana@example.com")  # another organisation's Ana

    assert api.post("/conversations", conversation_in()).status_code == 201

    conversation = Conversation.objects.get()
    assert conversation.customer == known
    assert conversation.messages.get().author_name == "Ana S."
    known.refresh_from_db()
    assert known.name == "Ana S."


def test_the_customer_sees_the_mirrored_conversation_in_their_portal(api, organisation, sign_in):
    customer = CustomerFactory(organisation=organisation, email="ana@example.com")
    client = sign_in(customer)
    listing = f"/{organisation.slug}/conversations/"
    assert "Delayed flight" not in client.get(listing).content.decode()  # the list is now in the page cache

    api.post("/conversations", conversation_in())

    assert "Delayed flight" in client.get(listing).content.decode()
    page = client.get(detail_path(Conversation.objects.get())).content.decode()
    assert "Hello, my flight<br>is delayed." in page


def test_the_same_call_twice_makes_one_conversation(api):
    first = api.post("/conversations", conversation_in())
    again = api.post("/conversations", conversation_in())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (Conversation.objects.count(), Message.objects.count(), Customer.objects.count()) == (1, 1, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"customer": {"email": "someone.else@example.com"}},
        {"channel": "email"},
        {"subject": "Another subject"},
        {"attributes": {"order_number": "B-7"}},
        {"message": message_in(body="Something else")},
        {"message": message_in(external_id="another-message")},
        {"message": message_in(created_at="2026-11-30T09:16:00+01:00")},
    ],
)
def test_the_same_external_id_for_another_conversation_is_409_and_changes_nothing(api, change):
    created = api.post("/conversations", conversation_in())

    assert_error(api.post("/conversations", conversation_in(**change)), 409, "external_id_taken")

    conversation = Conversation.objects.get()
    assert conversation.subject == "Delayed flight" and conversation.attributes == {"order_number": "A-1042"}
    assert list(Message.objects.values_list("pk", flat=True)) == [created.json()["message"]["id"]]
    assert list(Customer.objects.values_list("email", flat=True)) == ["ana@example.com"]


def test_external_ids_are_each_organisations_own(api, organisation):
    other = OrganisationFactory()
    ConversationFactory(
        customer=CustomerFactory(organisation=other, email="ana@example.com"),
        external_id="whatsapp:+34600000000:2026-11-30",
    )

    response = api.post("/conversations", conversation_in())

    assert response.status_code == 201
    assert Conversation.objects.get(pk=response.json()["id"]).organisation == organisation
    assert Conversation.objects.filter(organisation=other).count() == 1


# Adding messages


@pytest.fixture
def conversation(organisation):
    customer = CustomerFactory(organisation=organisation, email="ana@example.com", name="Ana")
    return ConversationFactory(customer=customer, created_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))


def test_an_outbound_message_is_added_and_shown_to_the_customer(api, conversation, sign_in, mailoutbox):
    client = sign_in(conversation.customer)
    assert "Your seat is 12A." not in client.get(detail_path(conversation)).content.decode()  # kept in the page cache

    response = api.post(
        f"/conversations/{conversation.pk}/messages",
        message_in(direction="from_staff", channel="sms", author_name="Inês", body="Your seat is 12A."),
    )

    assert response.status_code == 201, response.content
    message = conversation.messages.get()
    assert response.json() == {
        "id": message.pk,
        "conversation": conversation.pk,
        "external_id": "wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQTJD",
        "direction": "from_staff",
        "channel": "sms",
        "author_name": "Inês",
        "body": "Your seat is 12A.",
        "created_at": "2026-11-30T08:15:00Z",
        "attachments": [],
    }
    assert (message.direction, message.channel, message.internal) == ("from_staff", Channel.SMS, False)
    conversation.refresh_from_db()
    assert conversation.last_activity_at == message.created_at
    page = client.get(detail_path(conversation)).content.decode()
    assert "Your seat is 12A." in page and "Inês" in page
    assert mailoutbox == []  # the SMS reached the customer already


def test_an_empty_author_name_is_the_customers_or_the_organisations(api, conversation):
    inbound = api.post(f"/conversations/{conversation.pk}/messages", message_in(external_id="in"))
    outbound = api.post(
        f"/conversations/{conversation.pk}/messages", message_in(external_id="out", direction="from_staff")
    )

    assert inbound.json()["author_name"] == "Ana"
    assert outbound.json()["author_name"] == conversation.organisation.public_name


def test_an_older_message_takes_its_place_in_the_timeline_without_moving_the_conversation_back(api, conversation):
    MessageFactory(conversation=conversation, body="Newest")
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=timezone.now())
    conversation.refresh_from_db()

    api.post(f"/conversations/{conversation.pk}/messages", message_in(body="From last week"))

    assert [m.body for m in conversation.messages.order_by("created_at", "pk")][0] == "From last week"
    before = conversation.last_activity_at
    conversation.refresh_from_db()
    assert conversation.last_activity_at == before


def test_a_message_on_a_closed_conversation_leaves_it_closed(api, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED)

    assert api.post(f"/conversations/{conversation.pk}/messages", message_in()).status_code == 201

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED


def test_the_same_message_twice_is_one_message(api, conversation):
    first = api.post(f"/conversations/{conversation.pk}/messages", message_in())
    again = api.post(f"/conversations/{conversation.pk}/messages", message_in())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert conversation.messages.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"body": "Another text"},
        {"direction": "from_staff"},
        {"channel": "email"},
        {"author_name": "Someone"},
        {"created_at": "2026-11-30T09:15:01+01:00"},
    ],
)
def test_the_same_message_id_with_something_else_is_409_and_changes_nothing(api, conversation, change):
    api.post(f"/conversations/{conversation.pk}/messages", message_in())

    assert_error(api.post(f"/conversations/{conversation.pk}/messages", message_in(**change)), 409, "external_id_taken")

    assert list(conversation.messages.values_list("body", flat=True)) == ["Hello, my flight\nis delayed."]


def test_one_message_id_in_two_conversations_is_two_messages(api, conversation):
    other = ConversationFactory(customer=conversation.customer)

    for each in (conversation, other):
        assert api.post(f"/conversations/{each.pk}/messages", message_in()).status_code == 201

    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    "path_id", ["foreign", "missing", "0", "-1", str(2**31), str(2**63 - 1), str(2**63), str(2**70)]
)
def test_a_conversation_the_key_does_not_reach_is_404(api, path_id):
    foreign = ConversationFactory(customer=CustomerFactory(organisation=OrganisationFactory()))
    path_id = {"foreign": str(foreign.pk), "missing": str(foreign.pk + 1000)}.get(path_id, path_id)

    response = api.post(f"/conversations/{path_id}/messages", message_in())

    assert_error(response, 404, "conversation_not_found")
    assert not Message.objects.exists()


# Bad input


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"customer": {"email": "not an email"}}, "invalid_email"),
        ({"customer": {"email": "ana\x00@example.com"}}, "invalid_email"),
        ({"customer": {"email": "ana@example.com", "name": "Ana\x07"}}, "invalid_name"),
        ({"subject": "Bell\x07"}, "invalid_subject"),
        ({"external_id": " padded "}, "invalid_external_id"),
        ({"external_id": "line\nbreak"}, "invalid_external_id"),
        ({"attributes": {"note": "a\x00b"}}, "invalid_attributes"),
        ({"attributes": {"half": "\ud800"}}, "invalid_attributes"),
        ({"channel": "pigeon"}, "invalid"),
        ({"external_id": ""}, "invalid"),
        ({"external_id": "x" * 201}, "invalid"),
        ({"message": message_in(body="NUL \x00 here")}, "invalid_body"),
        ({"message": message_in(body="half \ud800")}, "invalid"),
        ({"message": message_in(body=" \n ")}, "invalid_body"),
        ({"message": message_in(body="x" * 100_001)}, "invalid"),
        ({"message": message_in(author_name="Ana\x1b[31m")}, "invalid_author_name"),
        ({"message": message_in(created_at="2026-11-30T09:15:00")}, "invalid"),  # no time zone
        ({"message": message_in(created_at="2999-01-01T00:00:00Z")}, "invalid_created_at"),
        ({"message": message_in(created_at="0001-01-01T00:00:00+14:00")}, "invalid_created_at"),
        ({"message": message_in(direction="sideways")}, "invalid"),
    ],
)
def test_bad_input_is_a_422_naming_it_and_writes_nothing(api, change, code):
    assert_error(api.post("/conversations", conversation_in(**change)), 422, code)

    assert not Conversation.objects.exists() and not Message.objects.exists() and not Customer.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.client.post("/api/v1/conversations", "{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")


# Keys, limits and the log


def test_without_a_valid_key_401_and_nothing_written(organisation, conversation):
    for client in (Client(), ApiClient("pk_nothing_here").client):
        response = client.post(
            f"/api/v1/conversations/{conversation.pk}/messages",
            json.dumps(message_in()),
            content_type="application/json",
        )
        assert_error(response, 401, "unauthorized")
    assert not Message.objects.exists()


def test_past_the_keys_rate_limit_429(api, conversation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "api_call": "2/m/key"}
    for n in range(2):
        assert (
            api.post(f"/conversations/{conversation.pk}/messages", message_in(external_id=f"m{n}")).status_code == 201
        )

    refused = api.post(f"/conversations/{conversation.pk}/messages", message_in(external_id="m3"))

    assert_error(refused, 429, "rate_limited")
    assert int(refused["Retry-After"]) > 0
    assert conversation.messages.count() == 2


def test_every_call_is_in_the_api_log(api, conversation):
    api.post("/conversations", conversation_in())
    api.post(f"/conversations/{conversation.pk}/messages", message_in())
    api.post(f"/conversations/{conversation.pk}/messages", message_in(body="changed"))

    calls = list(ApiCall.objects.order_by("pk").values_list("key_name", "method", "endpoint", "status"))
    assert calls == [
        ("Backend", "POST", "/api/v1/conversations", 201),
        ("Backend", "POST", "/api/v1/conversations/{id}/messages", 201),
        ("Backend", "POST", "/api/v1/conversations/{id}/messages", 409),
    ]


def test_the_routes_are_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    assert set(paths["/api/v1/conversations"]) == {"post"}
    assert set(paths["/api/v1/conversations/{id}/messages"]) == {"post"}
    responses = paths["/api/v1/conversations/{id}/messages"]["post"]["responses"]
    assert {"200", "201", "404", "409", "422"} <= set(responses)


def test_staff_see_the_external_id_in_the_admin(api, admin_client):
    api.post("/conversations", conversation_in())

    page = admin_client.get(f"/admin/conversations/conversation/{Conversation.objects.get().pk}/change/")

    assert "whatsapp:+34600000000:2026-11-30" in page.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_the_same_calls_at_the_same_moment_make_one_conversation_and_one_message():
    organisation = OrganisationFactory()
    CustomerFactory(organisation=organisation, email="ana@example.com")  # else making them would queue the calls
    key = api_key_create(organisation=organisation, name="Backend")[1]

    answers, errors = calls_at_once(4, lambda: ApiClient(key).post("/conversations", conversation_in()).status_code)
    assert errors == [] and sorted(answers) == [200, 200, 200, 201]
    conversation = Conversation.objects.get()
    assert Customer.objects.count() == 1 and conversation.messages.count() == 1

    path = f"/conversations/{conversation.pk}/messages"
    answers, errors = calls_at_once(4, lambda: ApiClient(key).post(path, message_in(external_id="m2")).status_code)
    assert errors == [] and sorted(answers) == [200, 200, 200, 201]
    assert conversation.messages.count() == 2


def test_a_customer_known_only_by_a_long_email_is_the_author_of_their_message(api):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".com"  # 250 characters, a valid address

    response = api.post("/conversations", conversation_in(customer={"email": email, "name": ""}))

    assert response.status_code == 201
    assert response.json()["message"]["author_name"] == email


def test_the_same_call_again_is_the_same_whatever_the_database_makes_of_its_numbers_and_names(api, organisation):
    body = conversation_in(attributes={"amount": 1e23, "rate": 0.1}, message=message_in(author_name=""))
    first = api.post("/conversations", body)
    Customer.objects.filter(organisation=organisation).update(name="Ana Silva-Lopes")  # renamed since

    again = api.post("/conversations", body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert api.post("/conversations", {**body, "attributes": {"amount": 1e22}}).status_code == 409
