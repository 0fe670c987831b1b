from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from conversations.models import Attachment, Channel, Conversation
from conversations.selectors import (
    ListedConversation,
    conversation_rows_for,
    displayed_attributes,
    get_conversation_for,
    public_messages,
    recent_conversations_for,
)
from portal_auth.access_log import LookRefused
from tests.conversations.factories import (
    ConversationFactory,
    ConversationSettingsFactory,
    DisplayedAttributeFactory,
    MessageFactory,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _conversations(customer, count, *, prefix="Trip"):
    now = timezone.now()
    return [
        ConversationFactory(customer=customer, subject=f"{prefix} {n:02d}", last_activity_at=now - timedelta(hours=n))
        for n in range(count)
    ]


def _attach(message, name):
    return Attachment.objects.create(
        message=message, file=f"conversations/{name}", original_name=name, size=10, content_type="application/pdf"
    )


def test_a_conversation_list_counts_and_reads_windows_in_list_order(customer):
    newest_first = _conversations(customer, 5)
    rows = conversation_rows_for(customer)

    assert rows.count() == 5
    assert [row.pk for row in rows[0:2]] == [c.pk for c in newest_first[:2]]
    assert [row.pk for row in rows[2:10]] == [c.pk for c in newest_first[2:]]
    assert rows[3:3] == []
    with pytest.raises(TypeError):
        rows[2:]  # noqa: B018  # an unbounded window would read every conversation
    page = Paginator(rows, 2).get_page(3)
    assert [row.pk for row in page] == [newest_first[4].pk] and page.paginator.num_pages == 3


def test_a_conversation_list_with_none_is_an_empty_first_page(customer):
    page = Paginator(conversation_rows_for(customer), 20).get_page(1)

    assert list(page) == [] and page.paginator.count == 0


def test_two_customers_read_through_the_same_window_see_only_their_own(customer, other_customer, other_organisation):
    mine, theirs = _conversations(customer, 3, prefix="Mine"), _conversations(other_customer, 2, prefix="Theirs")
    same_email_elsewhere = CustomerFactory(organisation=other_organisation, email=customer.email)
    elsewhere = _conversations(same_email_elsewhere, 1, prefix="Elsewhere")

    for _ in range(2):
        for who, expected in ((customer, mine), (other_customer, theirs), (same_email_elsewhere, elsewhere)):
            assert [row.pk for row in recent_conversations_for(who)] == [c.pk for c in expected]
        assert [conversation_rows_for(c).count() for c in (customer, other_customer, same_email_elsewhere)] == [3, 2, 1]


def test_a_conversation_filed_under_another_organisation_is_neither_listed_nor_shown(customer, other_organisation):
    misfiled = ConversationFactory(customer=customer, organisation=other_organisation, subject="Misfiled")

    assert conversation_rows_for(customer).count() == 0
    assert recent_conversations_for(customer) == []
    with pytest.raises(LookRefused):
        get_conversation_for(customer, misfiled.pk)


def test_one_customers_conversation_read_by_another_is_refused(customer, other_customer):
    mine = ConversationFactory(customer=customer)
    assert get_conversation_for(customer, mine.pk) == mine

    with pytest.raises(LookRefused):
        get_conversation_for(other_customer, mine.pk)
    with pytest.raises(LookRefused):
        get_conversation_for(customer, 2**63 + 1)  # past any id the table can hold


def test_attachments_are_shown_under_their_messages_and_only_this_conversations(customer, staff_user):
    conversation, other = ConversationFactory(customer=customer), ConversationFactory(customer=customer)
    start = timezone.now() - timedelta(hours=3)
    first = MessageFactory(conversation=conversation, created_at=start)
    plain = MessageFactory(conversation=conversation, created_at=start + timedelta(hours=1))
    redacted = MessageFactory(
        conversation=conversation, created_at=start + timedelta(hours=2), redacted_at=start, redacted_by=staff_user
    )
    note = MessageFactory(conversation=conversation, internal=True)
    shown = [_attach(first, "a.pdf"), _attach(first, "b.pdf")]
    _attach(redacted, "redacted.pdf")
    _attach(note, "note.pdf")
    _attach(MessageFactory(conversation=other), "other.pdf")

    timeline = public_messages(conversation)

    assert [m.pk for m in timeline] == [first.pk, plain.pk, redacted.pk]
    assert [m.shown_attachments for m in timeline] == [shown, [], []]
    assert [m.is_redacted for m in timeline] == [False, False, True]
    assert timeline[2].shown_body == ""  # a redacted message's text never reaches the page, whatever is stored
    assert [[a.original_name for a in m.shown_attachments] for m in public_messages(other)] == [["other.pdf"]]


def test_displayed_attributes_are_each_organisations_own(customer, other_organisation):
    mine = ConversationFactory(customer=customer, attributes={"tier": "Gold", "order": "A-1"})
    theirs = ConversationFactory(
        customer=CustomerFactory(organisation=other_organisation), attributes={"tier": "Silver", "order": "B-2"}
    )
    DisplayedAttributeFactory(settings=ConversationSettingsFactory(organisation=customer.organisation), key="tier")
    DisplayedAttributeFactory(settings=ConversationSettingsFactory(organisation=other_organisation), key="order")

    # As the page reads them: with the conversation.
    assert [a.value for a in displayed_attributes(get_conversation_for(customer, mine.pk))] == ["Gold"]
    assert [a.value for a in displayed_attributes(get_conversation_for(theirs.customer, theirs.pk))] == ["B-2"]


def test_a_listed_row_is_named_and_labelled_as_the_conversation_itself():
    moment = timezone.now()
    for subject in ("", "Seat upgrade"):
        for channel in [*Channel.values, "carrier_pigeon"]:
            for status in Conversation.Status.values:
                row = ListedConversation(1, subject, channel, status, moment, moment)
                conversation = Conversation(subject=subject, channel=channel, status=status)
                facts = ("title", "channel_label", "status_label", "is_open")
                assert [getattr(row, name) for name in facts] == [getattr(conversation, name) for name in facts]
    assert ListedConversation(1, "", "whatsapp", "open", moment, moment).title == "WhatsApp conversation"
    assert ListedConversation(1, "", "carrier_pigeon", "closed", moment, moment).channel_label == "carrier_pigeon"
