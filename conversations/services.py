"""Writes of the conversations app: replies (the customer's and staff's), redaction, and what the business's other
channels send through the API."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from conversations.models import Attachment, Channel, Conversation, Message
from conversations.selectors import conversations_for, customers_may_reopen
from outbox.services import email_enqueue, outbox_withdraw
from portal_auth.access_log import LookRefused
from portal_auth.doors.access_link.services import notification_link_make
from portal_auth.models import Customer, Organisation
from portal_auth.portals import customer_page
from portal_auth.services import customer_get_or_create
from portal_core import page_cache
from portal_core.sections import OptionalEmail
from portal_core.sent_once import create_once
from portal_core.staff_reply import ReplySentAlready
from portal_core.text import name_without_hidden_characters
from portal_core.uploads import (
    CheckedUpload,
    files_removed_unless_committed,
    original_name,
    stored_upload_save,
)

# The email of each public reply staff write.
REPLY_EMAILS = OptionalEmail(
    key="conversation_replies",
    label="Replies in my conversations",
    hint="An email with each answer from the team. The answers are always in the conversation.",
)


class ReopenRefused(Exception):
    """The conversation is closed and its organisation does not let customers reopen it."""


def conversation_reply(
    *,
    conversation: Conversation,
    customer: Customer,
    body: str,
    uploads: Sequence[CheckedUpload],
    request_token: str = "",
) -> Message:
    """The customer's message through the portal, with its attachments; reopens a closed conversation. The
    organisation's support address is emailed of it.

    All or nothing: if anything fails, no message, no attachment row and no stored file remain. The same sending
    again (`request_token`, portal_core/sent_once.py) answers with the message it made.
    """
    with files_removed_unless_committed() as written, transaction.atomic():
        # Locked, so a reply and a staff member closing the conversation can't interleave.
        locked = conversations_for(customer).select_for_update().filter(pk=conversation.pk).first()
        if locked is None:  # staff deleted it, or gave it to another customer, since the page checked
            raise LookRefused(f"conversation {conversation.pk}")
        if request_token and (sent := Message.objects.filter(conversation=locked, request_token=request_token).first()):
            return sent
        if not locked.is_open and not customers_may_reopen(conversation):
            raise ReopenRefused
        now = timezone.now()
        message = Message.objects.create(
            conversation=locked,
            direction=Message.Direction.FROM_CUSTOMER,
            channel=Channel.PORTAL,
            body=body,
            author_name=customer.name or customer.email,
            created_at=now,
            request_token=request_token,
        )
        for upload in uploads:
            stored_upload_save(upload=Attachment(message=message), file=upload.file, kind=upload.kind, written=written)
        Conversation.objects.filter(pk=locked.pk).update(status=Conversation.Status.OPEN, last_activity_at=now)
        page_cache.pages_changed(locked)
        _notify_staff(locked, message, customer=customer, reopened=not locked.is_open)
    conversation.status, conversation.last_activity_at = Conversation.Status.OPEN, now
    return message


def conversation_admin_url(conversation: Conversation) -> str:
    return settings.SITE_URL + reverse("admin:conversations_conversation_change", args=[conversation.pk])


def _notify_staff(conversation: Conversation, message: Message, *, customer: Customer, reopened: bool) -> None:
    """The organisation's support address hears of the customer's message, if it has one (a conversation has no
    assigned agent, which is whom a ticket's reply goes to first)."""
    to = customer.organisation.support_email
    if not to:
        return
    email_enqueue(
        organisation=customer.organisation,
        to=to,
        template="conversations/emails/staff_customer_reply",
        context={
            "conversation": conversation,
            "customer": customer,
            "message": message,
            "reopened": reopened,
            "admin_link": conversation_admin_url(conversation),
        },
    )


def _staff_reply_email_reference(message: Message) -> str:
    # Names the email after its message, so redacting the message can stop an email not yet sent.
    return f"conversations.message:{message.pk}"


@transaction.atomic
def reply_not_emailed_because(customer: Customer) -> str:
    """Why a public staff reply is not emailed to the customer ("" when it is)."""
    if not customer.is_active:
        return "the customer is deactivated"
    if not customer.wants_email(REPLY_EMAILS):
        return "the customer turned reply emails off"
    return ""


@transaction.atomic
def conversation_staff_reply(
    *, conversation: Conversation, staff_user: User, body: str, internal: bool, request_token: str = ""
) -> Message:
    """A reply from the admin. A public one reaches the customer's portal and mailbox; a note stays with staff.

    Raises ReplySentAlready, writing and sending nothing, if the same page (`request_token`) was saved before."""
    # Locked, so the same page saved twice at once writes once: the second waits, then finds the first reply.
    list(Conversation.objects.select_for_update().filter(pk=conversation.pk).values_list("pk"))
    sent = Message.objects.filter(conversation=conversation, staff_author=staff_user, request_token=request_token)
    if request_token and sent.exists():
        raise ReplySentAlready
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.FROM_STAFF,
        channel=Channel.PORTAL,
        body=body,
        internal=internal,
        author_name=name_without_hidden_characters(staff_user.get_full_name()) or conversation.organisation.public_name,
        staff_author=staff_user,
        created_at=now,
        request_token=request_token,
    )
    if internal:
        # A note must not move the conversation up the customer's list: that would tell them something happened.
        return message
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=now)
    page_cache.pages_changed(conversation)
    customer = conversation.customer
    if not reply_not_emailed_because(customer):
        path = customer_page(customer, "conversations:detail", pk=conversation.pk)
        link = notification_link_make(customer=customer, next_path=path, created_by=staff_user)
        email_enqueue(
            organisation=conversation.organisation,
            to=customer.email,
            template="conversations/emails/staff_reply",
            context={"customer": customer, "conversation": conversation, "message": message, **link.context()},
            secrets=link.secrets,
            reference=_staff_reply_email_reference(message),
        )
    return message


def conversation_create_by_staff(*, conversation: Conversation, request_token: str = "") -> None:
    """Save a conversation staff made in admin.

    Raises CreatedAlready, creating nothing, if the same add page (`request_token`) created a conversation before."""
    create_once(conversation, request_token=request_token)


@transaction.atomic
def message_redact(*, message: Message, staff_user: User) -> None:
    """Remove a message's text and attachments for good; the timeline keeps a note that it was redacted.

    An email of the message still waiting in the outbox (mail server down) is cancelled with it.
    """
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.is_redacted:
        return
    message.attachments.all().delete()  # their files once this commits (portal_core.uploads)
    message.body = ""
    message.redacted_at = timezone.now()
    message.redacted_by = staff_user
    message.save(update_fields=["body", "redacted_at", "redacted_by"])
    outbox_withdraw(reference=_staff_reply_email_reference(message))


class ExternalIdTaken(Exception):
    """The business's id names a conversation or message that holds something else than what was sent with it."""


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A message as the business's own channel (email, chat, SMS, …) holds it, sent through the API, with its
    files checked as a customer's are.

    An empty `author_name` is the customer's name (or email) for a message from them, the organisation's for one
    from staff."""

    external_id: str
    direction: str
    channel: str
    author_name: str
    body: str
    created_at: datetime
    attachments: tuple[CheckedUpload, ...] = ()


def conversation_from_channel_create(
    *,
    organisation: Organisation,
    external_id: str,
    email: str,
    name: str,
    channel: str,
    subject: str,
    attributes: dict,
    first: ChannelMessage,
) -> tuple[Conversation, Message, bool]:
    """A conversation begun in another channel, with its first message, for the customer with `email` (made if
    the organisation has none). True if it was made now.

    The same call again answers with what the first made, storing no file again. Raises ExternalIdTaken if the
    organisation's conversation `external_id` holds another customer, channel, subject, attributes or first message
    (its attachments included). Nobody is emailed: the business's channel delivered the message already. All or
    nothing: if anything fails, no conversation, message or stored file remains.
    """
    with files_removed_unless_committed() as written, transaction.atomic():
        customer = customer_get_or_create(organisation=organisation, email=email, name=name)
        found = Conversation.objects.filter(organisation=organisation, external_id=external_id).first()
        if found is None:
            try:
                with transaction.atomic():
                    conversation = Conversation.objects.create(
                        organisation=organisation,
                        customer=customer,
                        channel=channel,
                        subject=subject,
                        attributes=attributes,
                        external_id=external_id,
                        created_at=first.created_at,
                        last_activity_at=first.created_at,
                    )
                    return conversation, _channel_message_create(conversation, customer, first, written), True
            except IntegrityError:  # the same call at the same moment made it first
                found = Conversation.objects.get(organisation=organisation, external_id=external_id)
        message = found.messages.filter(external_id=first.external_id).first()
        # The attributes as the database keeps them (a float such as 1e23 comes back written otherwise): compared there.
        same = (found.customer_id, found.channel, found.subject) == (customer.pk, channel, subject) and (
            Conversation.objects.filter(pk=found.pk, attributes=attributes).exists()
        )
        if not same or message is None or not _is_the_same(message, found, customer, first):
            raise ExternalIdTaken(f"The conversation {external_id!r} holds something else.")
        return found, message, False


def conversation_message_from_channel_add(
    *, organisation: Organisation, conversation_id: int, message: ChannelMessage
) -> tuple[Message, bool]:
    """A message of another channel added to one of the organisation's conversations; True if it was added now.

    The same call again answers with the message the first added, storing no file again. Raises
    Conversation.DoesNotExist for another organisation's conversation or none, ExternalIdTaken if the conversation's
    message `message.external_id` holds something else (other attachments included). The conversation's status stays
    as staff set it; nobody is emailed. All or nothing, as `conversation_from_channel_create`.
    """
    with files_removed_unless_committed() as written, transaction.atomic():
        # Locked, so the same message sent twice at once is added once: the second waits, then finds it.
        locked = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer", "organisation")
            .get(organisation=organisation, pk=conversation_id)
        )
        found = locked.messages.filter(external_id=message.external_id).first()
        if found is not None:
            if not _is_the_same(found, locked, locked.customer, message):
                raise ExternalIdTaken(f"The message {message.external_id!r} holds something else.")
            return found, False
        added = _channel_message_create(locked, locked.customer, message, written)
        Conversation.objects.filter(pk=locked.pk, last_activity_at__lt=message.created_at).update(
            last_activity_at=message.created_at
        )
        page_cache.pages_changed(locked)
        return added, True


def _author_name(conversation: Conversation, customer: Customer, message: ChannelMessage) -> str:
    if message.author_name:
        return message.author_name
    if message.direction == Message.Direction.FROM_CUSTOMER:
        return customer.name or customer.email
    return conversation.organisation.public_name


def _channel_message_create(
    conversation: Conversation, customer: Customer, message: ChannelMessage, written: list
) -> Message:
    created = Message.objects.create(
        conversation=conversation,
        direction=message.direction,
        channel=message.channel,
        author_name=_author_name(conversation, customer, message),
        body=message.body,
        created_at=message.created_at,
        external_id=message.external_id,
    )
    for upload in message.attachments:
        attachment = Attachment(message=created, sha256=_sha256(upload))
        stored_upload_save(upload=attachment, file=upload.file, kind=upload.kind, written=written)
    return created


def _sha256(upload: CheckedUpload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.file.chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _attachments_of(sent: ChannelMessage) -> list[tuple[str, str]]:
    """Each file's name as it is stored, and its digest: what a message's attachments are compared by."""
    name_length = cast(int, Attachment._meta.get_field("original_name").max_length)
    return [(original_name(upload.file.name, max_length=name_length), _sha256(upload)) for upload in sent.attachments]


def _is_the_same(stored: Message, conversation: Conversation, customer: Customer, sent: ChannelMessage) -> bool:
    # A name left to the portal was taken from the customer when first sent, who may have a new one since.
    named_alike = not sent.author_name or stored.author_name == sent.author_name
    return (
        named_alike
        and (stored.direction, stored.channel, stored.body, stored.created_at)
        == (sent.direction, sent.channel, sent.body, sent.created_at)
        and list(stored.attachments.values_list("original_name", "sha256")) == _attachments_of(sent)
    )
