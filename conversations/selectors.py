"""Reads of the conversations app: everything a customer may see goes through here."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    TextField,
    Value,
    When,
    Window,
)
from django.shortcuts import get_object_or_404

from conversations.models import (
    Attachment,
    Conversation,
    ConversationSettings,
    ConversationShownFacts,
    DisplayedAttribute,
    Message,
    MessageShownFacts,
)
from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation, normalise_email
from portal_core.expressions import JSONRows
from portal_core.pagination import WindowedList
from portal_core.prepared import PreparedQuery
from portal_core.templatetags.portal import choice_label


def _conversations_of(customer_id: int, organisation_id: int) -> QuerySet[Conversation]:
    return Conversation.objects.filter(organisation_id=organisation_id, customer_id=customer_id).order_by(
        "-last_activity_at", "-pk"
    )


def conversations_for(customer: Customer) -> QuerySet[Conversation]:
    """The customer's conversations, open and closed, newest activity first."""
    return _conversations_of(customer.pk, customer.organisation_id)


@dataclass(slots=True)
class ListedConversation(ConversationShownFacts):
    """A conversation as a row of a list shows it (My conversations, the home): read as values, not as a model
    instance, which costs twice as much a row."""

    pk: int
    subject: str
    channel: str
    status: str
    created_at: datetime
    last_activity_at: datetime


# What a row of a list shows: ListedConversation's fields, in order.
LIST_ROW_FIELDS = tuple(ListedConversation.__dataclass_fields__)

_CONVERSATION_COUNT = PreparedQuery(
    lambda customer_id, organisation_id: _conversations_of(customer_id, organisation_id).order_by().values("pk")
)


def _conversation_rows(
    customer_id: int, organisation_id: int, window: slice, counted: bool
) -> QuerySet[Conversation, tuple]:
    conversations = _conversations_of(customer_id, organisation_id)
    if counted:
        # On each row, how many conversations the whole list holds: a page and its paginator's count in one query.
        conversations = conversations.annotate(listed=Window(Count("*")))
    return conversations.values_list(*LIST_ROW_FIELDS, *(["listed"] if counted else []))[window]


_CONVERSATION_ROWS = PreparedQuery(_conversation_rows)


class ConversationList(WindowedList[ListedConversation]):
    """A customer's conversations in list order, as a Paginator reads them (portal_core/pagination.py).

    Each window is a shape of its own, compiled once per process: a list is read at its first pages far more often
    than at any other.
    """

    what = "conversation list"
    row = ListedConversation

    def __init__(self, customer: Customer) -> None:
        super().__init__()
        self.values = {"customer_id": customer.pk, "organisation_id": customer.organisation_id}

    def count(self) -> int:
        return _CONVERSATION_COUNT.count(**self.values)

    def _rows(self, start: int | None, stop: int | None, counted: bool) -> list[tuple]:
        return _CONVERSATION_ROWS(**self.values, window=slice(start, stop), counted=counted)


def conversation_rows_for(customer: Customer) -> ConversationList:
    """conversations_for, each carrying only what a row of a list shows (LIST_ROW_FIELDS)."""
    return ConversationList(customer)


def recent_conversations_for(customer: Customer, *, limit: int = 3) -> list[ListedConversation]:
    return ConversationList(customer).rows(slice(0, limit))


CONVERSATION_FIELDS = tuple(field.name for field in Conversation._meta.concrete_fields)
_REOPEN_SETTING = "organisation__conversation_settings__customers_may_reopen"
# The attributes the organisation chose to show, as (position, pk, key, display name): read with the conversation.
_DISPLAYED = ("position", "pk", "key", "display_name")
_CONVERSATION = PreparedQuery(
    lambda customer_id, organisation_id, pk: (
        _conversations_of(customer_id, organisation_id)
        .select_related("organisation__conversation_settings")
        .only(*CONVERSATION_FIELDS, _REOPEN_SETTING)
        .annotate(
            displayed_attribute_rows=JSONRows(
                DisplayedAttribute.objects.filter(settings__organisation_id=OuterRef("organisation_id")).values_list(
                    *_DISPLAYED
                )
            )
        )
        .filter(pk=pk)
    )
)


def get_conversation_for(customer: Customer, pk: int) -> Conversation:
    """One of the customer's conversations, with its organisation's settings; LookRefused (a 404) for any other.

    Of the organisation, the page already has the whole row: only its settings are read here.
    """
    found = _CONVERSATION(customer_id=customer.pk, organisation_id=customer.organisation_id, pk=pk)
    if not found:
        raise LookRefused(f"conversation {pk}")
    return found[0]


def get_attachment_for(customer: Customer, pk: int) -> Attachment:
    """An attachment of a message the customer may see: never one on an internal note or a redacted message.

    LookRefused (a 404) for any other.
    """
    try:
        return Attachment.objects.select_related("message").get(
            pk=pk,
            message__conversation__organisation_id=customer.organisation_id,
            message__conversation__customer=customer,
            message__internal=False,
            message__redacted_at__isnull=True,
        )
    except Attachment.DoesNotExist:
        raise LookRefused(f"conversation attachment {pk}") from None


def get_attachment_for_staff(organisation: Organisation, pk: int) -> Attachment:
    return get_object_or_404(Attachment, pk=pk, message__conversation__organisation=organisation)


@dataclass(slots=True)
class ShownMessage(MessageShownFacts):
    """A message of the timeline as the customer's page shows it: read as values, not as a model instance, which
    costs twice as much a row."""

    pk: int
    direction: str
    channel_label: str
    author_name: str
    created_at: datetime
    redacted_at: datetime | None
    shown_body: str
    shown_attachments: list[Attachment] = field(default_factory=list)


def _public_messages(conversation_id: int) -> QuerySet[Message, tuple]:
    return (
        Message.objects.filter(conversation_id=conversation_id, internal=False)
        .annotate(
            shown_body=Case(
                When(redacted_at__isnull=False, then=Value("")),
                default=F("body"),
                output_field=TextField(),
            ),
            has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))),
        )
        .order_by("created_at", "pk")
        .values_list(
            "pk", "direction", "channel", "author_name", "created_at", "redacted_at", "shown_body", "has_attachments"
        )
    )


_PUBLIC_MESSAGES = PreparedQuery(_public_messages)
# The attachments of the shown messages, by the conversation rather than by the messages' ids: a list of ids would
# make each conversation's query a shape of its own.
_SHOWN_ATTACHMENTS = PreparedQuery(
    lambda conversation_id: Attachment.objects.filter(
        message__conversation_id=conversation_id, message__internal=False, message__redacted_at__isnull=True
    ).order_by("pk")
)


def public_messages(conversation: Conversation) -> list[ShownMessage]:
    """The timeline as staff see it, minus internal notes, with redactions applied.

    The one place that decides what of a message reaches a customer: `shown_body` is empty for a
    redacted message even if its text were still stored, and its `shown_attachments` list is empty.
    The attachments are read (a second query) only if a message shown has any.
    """
    messages: dict[int, ShownMessage] = {}
    any_attached = False
    for pk, direction, channel, author_name, created_at, redacted_at, body, attached in _PUBLIC_MESSAGES(
        conversation_id=conversation.pk
    ):
        channel_label = choice_label(Message, "channel", channel)
        messages[pk] = ShownMessage(pk, direction, channel_label, author_name, created_at, redacted_at, body)
        any_attached = any_attached or (attached and redacted_at is None)
    if any_attached:
        for attachment in _SHOWN_ATTACHMENTS(conversation_id=conversation.pk):
            # A message written since the timeline was read is not shown, nor are its attachments.
            if (message := messages.get(attachment.message_id)) is not None:
                message.shown_attachments.append(attachment)
    return list(messages.values())


def customers_may_reopen(conversation: Conversation) -> bool:
    """Reopening is allowed unless the organisation turned it off (no settings row means the default, yes)."""
    try:
        conversation_settings = conversation.organisation.conversation_settings
    except ConversationSettings.DoesNotExist:
        return True
    return conversation_settings.customers_may_reopen


@dataclass(frozen=True)
class ShownAttribute:
    name: str
    value: str


def displayed_attributes(conversation: Conversation) -> list[ShownAttribute]:
    """The extra attributes the organisation chose to show, under their display names, in their order (position,
    then the order they were added), of a conversation get_conversation_for read them with."""
    values = conversation.attributes if isinstance(conversation.attributes, dict) else {}
    chosen = sorted(conversation.displayed_attribute_rows)  # type: ignore[attr-defined]
    return [
        ShownAttribute(display_name, _as_text(values[key]))
        for _position, _pk, key, display_name in chosen
        if values.get(key) not in (None, "")
    ]


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_as_text(item) for item in value)
    return str(value)


def organisation_has_conversation_email(organisation: Organisation, email: str) -> bool:
    """An identity source: whether a conversation of the organisation belongs to this email."""
    # Scoped through the customer too, so the (organisation, email) index finds them.
    return Conversation.objects.filter(
        organisation=organisation, customer__organisation=organisation, customer__email=normalise_email(email)
    ).exists()
