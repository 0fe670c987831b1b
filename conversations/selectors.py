"""Reads of the conversations app: everything a customer may see goes through here."""

from dataclasses import dataclass

from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    TextField,
    Value,
    When,
    prefetch_related_objects,
)
from django.shortcuts import get_object_or_404

from conversations.models import Attachment, Conversation, ConversationSettings, DisplayedAttribute, Message
from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation, normalise_email


def conversations_for(customer: Customer) -> QuerySet[Conversation]:
    """The customer's conversations, open and closed, newest activity first."""
    return Conversation.objects.filter(organisation_id=customer.organisation_id, customer=customer).order_by(
        "-last_activity_at", "-pk"
    )


# What a row of a list shows.
LIST_ROW_FIELDS = ("subject", "channel", "status", "created_at", "last_activity_at")


def conversation_rows_for(customer: Customer) -> QuerySet[Conversation]:
    """conversations_for, each carrying only what a row of a list shows (LIST_ROW_FIELDS)."""
    return conversations_for(customer).only(*LIST_ROW_FIELDS)


def recent_conversations_for(customer: Customer, *, limit: int = 3) -> list[Conversation]:
    return list(conversation_rows_for(customer)[:limit])


CONVERSATION_FIELDS = tuple(field.name for field in Conversation._meta.concrete_fields)


def get_conversation_for(customer: Customer, pk: int) -> Conversation:
    """One of the customer's conversations, with its organisation's settings; LookRefused (a 404) for any other.

    Of the organisation, the page already has the whole row: only its settings are read here.
    """
    settings = "organisation__conversation_settings__customers_may_reopen"
    try:
        return (
            conversations_for(customer)
            .select_related("organisation__conversation_settings")
            .only(*CONVERSATION_FIELDS, settings)
            .get(pk=pk)
        )
    except Conversation.DoesNotExist:
        raise LookRefused(f"conversation {pk}") from None


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


def public_messages(conversation: Conversation) -> list[Message]:
    """The timeline as staff see it, minus internal notes, with redactions applied.

    The one place that decides what of a message reaches a customer: `shown_body` is empty for a
    redacted message even if its text were still stored, and its `shown_attachments` list is empty.
    The attachments are read (a second query) only if a message shown has any.
    """
    messages: list[Message] = list(
        conversation.messages.filter(internal=False)
        .annotate(
            shown_body=Case(
                When(redacted_at__isnull=False, then=Value("")),
                default=F("body"),
                output_field=TextField(),
            ),
            has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))),
        )
        .only("direction", "channel", "author_name", "created_at", "redacted_at")
        .order_by("created_at", "pk")
    )
    attached = [message for message in messages if message.has_attachments and not message.is_redacted]  # type: ignore[attr-defined]
    in_order = Attachment.objects.order_by("pk")
    prefetch_related_objects(attached, Prefetch("attachments", queryset=in_order, to_attr="shown_attachments"))
    for message in messages:
        if not hasattr(message, "shown_attachments"):
            message.shown_attachments = []  # type: ignore[attr-defined]
    return messages


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
    """The extra attributes the organisation chose to show, under their display names, in their order."""
    chosen = DisplayedAttribute.objects.filter(settings__organisation_id=conversation.organisation_id)
    values = conversation.attributes if isinstance(conversation.attributes, dict) else {}
    return [
        ShownAttribute(attribute.display_name, _as_text(values[attribute.key]))
        for attribute in chosen
        if values.get(attribute.key) not in (None, "")
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
