from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Channel, Conversation, Message
from tests.conversations.factories import (
    ConversationSettingsFactory,
    DisplayedAttributeFactory,
    MessageFactory,
)
from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused, look_alike, refused_looks


def detail_url(conversation):
    return f"/{conversation.organisation.slug}/conversations/{conversation.pk}/"


def test_detail_shows_status_channel_and_created_date(sign_in, conversation):
    conversation.channel = Channel.MESSENGER
    conversation.save()

    response = sign_in(conversation.customer).get(detail_url(conversation))

    assert response.status_code == 200
    html = response.content.decode()
    assert conversation.subject in html
    assert "<dt>Status</dt>" in html and "Open" in html
    assert "<dt>Channel</dt>" in html and "Facebook Messenger" in html
    assert "<dt>Started</dt>" in html


def test_detail_shows_configured_attributes_under_display_names_in_order(sign_in, conversation):
    conversation.attributes = {"order_number": "A-1042", "tier": "Gold", "internal_score": 7, "vip": True}
    conversation.save()
    settings = ConversationSettingsFactory(organisation=conversation.organisation)
    DisplayedAttributeFactory(settings=settings, key="tier", display_name="Loyalty tier", position=2)
    DisplayedAttributeFactory(settings=settings, key="order_number", display_name="Order", position=1)
    DisplayedAttributeFactory(settings=settings, key="vip", display_name="VIP", position=3)
    DisplayedAttributeFactory(settings=settings, key="absent", display_name="Never shown", position=4)

    html = sign_in(conversation.customer).get(detail_url(conversation)).content.decode()

    assert "<dt>Order</dt>" in html and "<dd>A-1042</dd>" in html
    assert html.index("<dt>Order</dt>") < html.index("<dt>Loyalty tier</dt>") < html.index("<dt>VIP</dt>")
    assert "<dd>Yes</dd>" in html
    assert "internal_score" not in html and "Never shown" not in html
    assert "order_number" not in html  # the key itself stays behind the display name


def test_attributes_of_another_organisations_settings_are_not_used(sign_in, conversation, other_organisation):
    conversation.attributes = {"tier": "Gold"}
    conversation.save()
    elsewhere = ConversationSettingsFactory(organisation=other_organisation)
    DisplayedAttributeFactory(settings=elsewhere, key="tier", display_name="Loyalty tier")

    html = sign_in(conversation.customer).get(detail_url(conversation)).content.decode()

    assert "Loyalty tier" not in html and "Gold" not in html


def test_timeline_in_order_without_internal_notes_and_with_redactions(sign_in, conversation, staff_user):
    start = timezone.now() - timedelta(hours=5)
    MessageFactory(
        conversation=conversation,
        body="Second, from staff",
        created_at=start + timedelta(hours=2),
        direction=Message.Direction.FROM_STAFF,
        author_name="Sam",
        channel=Channel.WHATSAPP,
    )
    MessageFactory(conversation=conversation, body="First, my question", created_at=start, channel=Channel.SMS)
    MessageFactory(
        conversation=conversation,
        body="Customer seems upset",
        internal=True,
        direction=Message.Direction.FROM_STAFF,
        created_at=start + timedelta(hours=1),
    )
    # Redacted before the text was erased, as imported data might be: the text must still not show.
    MessageFactory(
        conversation=conversation,
        body="My card is 4111 1111 1111 1111",
        redacted_at=timezone.now(),
        redacted_by=staff_user,
        created_at=start + timedelta(hours=3),
    )

    response = sign_in(conversation.customer).get(detail_url(conversation))

    html = response.content.decode()
    assert html.index("First, my question") < html.index("Second, from staff") < html.index("This message was redacted")
    assert "Customer seems upset" not in html
    assert "4111" not in html
    assert [m.shown_body for m in response.context["timeline"]] == ["First, my question", "Second, from staff", ""]
    assert "Sam" in html and "You" in html
    assert html.index("via SMS") < html.index("via WhatsApp")  # each message's channel, by its label


def test_another_customers_conversation_is_not_found(sign_in, conversation, other_customer):
    response = sign_in(other_customer).get(detail_url(conversation))

    assert response.status_code == 404
    assert conversation.subject not in response.content.decode()


def test_a_conversation_seen_through_another_organisations_portal_is_not_found(
    sign_in, conversation, other_organisation
):
    same_email_elsewhere = CustomerFactory(organisation=other_organisation, email=conversation.customer.email)

    response = sign_in(same_email_elsewhere).get(f"/{other_organisation.slug}/conversations/{conversation.pk}/")

    assert response.status_code == 404


def test_detail_needs_sign_in(client, conversation):
    response = client.get(detail_url(conversation))

    assert response.status_code == 302
    assert "/sign-in/?next=" in response["Location"]


def test_open_conversation_offers_a_reply_form(sign_in, conversation):
    html = sign_in(conversation.customer).get(detail_url(conversation)).content.decode()

    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    assert '<label for="id_body">Your message' in html and '<label for="id_attachments">Attach files' in html
    assert ">Send message</button>" in html
    assert "maxlength" not in html  # browsers would count UTF-16 units; the server counts characters


def test_closed_conversation_offers_reopening_by_default(sign_in, conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()

    html = sign_in(conversation.customer).get(detail_url(conversation)).content.decode()

    assert "Reopen this conversation" in html and "Send and reopen" in html


def test_closed_conversation_has_no_form_when_reopening_is_off(sign_in, conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    ConversationSettingsFactory(organisation=conversation.organisation, customers_may_reopen=False)

    response = sign_in(conversation.customer).get(detail_url(conversation))

    html = response.content.decode()
    assert response.context["form"] is None
    assert '<form method="post" enctype' not in html
    assert "This conversation is closed" in html


@pytest.mark.parametrize("message_count", [1, 40])
def test_detail_query_count_does_not_grow_with_messages(
    sign_in, conversation, message_count, django_assert_max_num_queries, tmp_path
):
    from conversations.models import Attachment

    settings = ConversationSettingsFactory(organisation=conversation.organisation)
    DisplayedAttributeFactory(settings=settings, key="tier", display_name="Tier")
    conversation.attributes = {"tier": "Gold"}
    conversation.save()
    for message in MessageFactory.create_batch(message_count, conversation=conversation):
        Attachment.objects.create(
            message=message, file="conversations/x.pdf", original_name="x.pdf", size=10, content_type="application/pdf"
        )
    MessageFactory(conversation=conversation, internal=True)
    client = sign_in(conversation.customer)

    with django_assert_max_num_queries(6):
        response = client.get(detail_url(conversation))

    assert response.status_code == 200
    assert response.content.decode().count("x.pdf") == message_count


def test_the_attributes_shown_are_read_with_the_conversation(sign_in, conversation):
    settings = ConversationSettingsFactory(organisation=conversation.organisation)
    DisplayedAttributeFactory(settings=settings, key="tier", display_name="Loyalty tier")
    conversation.attributes = {"tier": "Gold"}
    conversation.save()
    client = sign_in(conversation.customer)
    client.get(detail_url(conversation))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(detail_url(conversation))

    assert response.status_code == 200 and "Loyalty tier" in response.content.decode()
    assert not [q for q in queries.captured_queries if q["sql"].startswith('SELECT "conversations_displayedattribute"')]


def test_message_text_is_shown_as_text_never_as_markup(sign_in, conversation):
    MessageFactory(conversation=conversation, body='<script>alert("hi")</script>\n<b>bold</b>')

    html = sign_in(conversation.customer).get(detail_url(conversation)).content.decode()

    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt;<br>&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_look_at_someone_elses_conversation_and_at_a_missing_one_look_alike_and_are_both_logged(
    sign_in, conversation, other_customer
):
    client = sign_in(other_customer)

    someone_elses = client.get(detail_url(conversation), HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(
        someone_elses, customer=other_customer, what=f"conversation {conversation.pk}", hidden=conversation.subject
    )
    missing_pk = conversation.pk + 1000
    missing = client.get(f"/{conversation.organisation.slug}/conversations/{missing_pk}/", HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(missing, customer=other_customer, what=f"conversation {missing_pk}")

    assert look_alike(missing, someone_elses)
    assert refused_looks() == 2


def test_a_reply_to_someone_elses_conversation_is_a_refused_look_and_writes_nothing(
    sign_in, conversation, other_customer
):
    messages_before = Message.objects.count()

    response = sign_in(other_customer).post(detail_url(conversation), {"body": "Hi"}, HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=other_customer, what=f"conversation {conversation.pk}")
    assert Message.objects.count() == messages_before


def test_the_conversations_customer_leaves_no_refused_look(sign_in, conversation):
    assert sign_in(conversation.customer).get(detail_url(conversation)).status_code == 200
    assert refused_looks() == 0


def test_a_forged_reopening_when_reopening_is_off_is_a_refused_look(sign_in, conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    ConversationSettingsFactory(organisation=conversation.organisation, customers_may_reopen=False)

    response = sign_in(conversation.customer).post(
        detail_url(conversation), {"body": "Open up"}, HTTP_USER_AGENT=USER_AGENT
    )

    what = f"conversation {conversation.pk} reopening (turned off)"
    assert_look_refused(response, customer=conversation.customer, what=what, status=403)
    assert not conversation.messages.filter(body="Open up").exists()
