"""The conversations API: the business's other channels (email, chat, SMS, WhatsApp, forms) mirrored into the
portal, so a customer finds there every conversation they had, whichever channel it came through.

A conversation and each message carry the business's own id (`external_id`): the same call sent again (a retry
after a timeout) answers with what the first made, and the same id sent with something else is a 409. Every
look-up is scoped to the calling key's organisation, so another organisation's conversation is a 404 like a
missing one.

A message may carry files (an email's attachments, a WhatsApp photo), in base64 in the JSON: each is checked as a
customer's upload through the portal is, and the customer finds it with the message on their page.
"""

import base64
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.http import HttpRequest, UnreadablePostError
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime

from conversations.forms import ATTACHMENT_KINDS, MAX_ATTACHMENT_SIZE, MAX_ATTACHMENTS
from conversations.models import (
    ATTRIBUTES_UNSTORABLE,
    EXTERNAL_ID_MAX_LENGTH,
    Attachment,
    Channel,
    Conversation,
    Message,
    MessageDirection,
    attributes_storable,
)
from conversations.services import (
    ChannelMessage,
    ExternalIdTaken,
    conversation_from_channel_create,
    conversation_message_from_channel_add,
)
from portal_auth import api_keys
from portal_auth.models import ApiKey, Customer, Organisation, normalise_email
from portal_core.api import ERRORS, ApiError, ErrorOut
from portal_core.text import has_invisible_formatting, has_unstorable, is_unstorable, one_line, size_label
from portal_core.uploads import CheckedUpload, original_name, validate_upload

router = Router(tags=["conversations"])

# As the rows hold them.
EMAIL_MAX_LENGTH: int = Customer._meta.get_field("email").max_length or 254
NAME_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH: int = Conversation._meta.get_field("subject").max_length or 200
# A long email thread's message, quoted history and all; the request body's own limit stops larger ones first.
BODY_MAX_LENGTH = 100_000
# A message's time may be a little ahead of ours: the sender's clock.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MEGABYTE = 1024 * 1024


def base64_length(size: int) -> int:
    """How long `size` bytes are in base64: 4 characters for every 3 bytes, the last ones padded."""
    return 4 * math.ceil(size / 3)


EXTERNAL_ID = Field(
    min_length=1,
    max_length=EXTERNAL_ID_MAX_LENGTH,
    description="The business's own id for it in its channel (a thread's, an email's Message-ID, a WhatsApp id).",
)


class CustomerIn(Schema):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, description="Found, or made, by email, in this organisation.")
    name: str = Field("", max_length=NAME_MAX_LENGTH, description="Kept if the customer has no name yet.")


class AttachmentIn(Schema):
    filename: str = Field(
        description="Shown and downloaded under this name, cleaned as a customer's file's is (its last part, no "
        "control characters, at most 255 characters); its extension must match the content."
    )
    content_type: str = Field(
        "", max_length=255, description="Advisory only: the type is detected from the content, whatever this says."
    )
    content_base64: str = Field(
        description=f"The file in base64 (RFC 4648, with padding, no line breaks), at most "
        f"{size_label(MAX_ATTACHMENT_SIZE)} once decoded: {', '.join(kind.name for kind in ATTACHMENT_KINDS)}.",
        json_schema_extra={"contentEncoding": "base64", "maxLength": base64_length(MAX_ATTACHMENT_SIZE)},
    )


class MessageIn(Schema):
    external_id: str = EXTERNAL_ID
    direction: MessageDirection = Field(description="From the customer (inbound) or from staff (outbound).")
    channel: Channel = Field(description="Where this message came through.")
    author_name: str = Field(
        "",
        max_length=NAME_MAX_LENGTH,
        description="Who wrote it, as the customer sees it; when empty, the customer's name (or email) for a message "
        "from them, the organisation's name for one from staff.",
    )
    body: str = Field(min_length=1, max_length=BODY_MAX_LENGTH, description="Plain text; line breaks are kept.")
    created_at: AwareDatetime = Field(description="When it was sent in its channel, with its time zone.")
    # Bounded here (not by pydantic) so that one too many is refused with its own code, as the portal's form does.
    attachments: list[AttachmentIn] = Field(
        default_factory=list,
        description=f"Its files, at most {MAX_ATTACHMENTS}; each is checked as a customer's upload is.",
        json_schema_extra={"maxItems": MAX_ATTACHMENTS},
    )


class ConversationIn(Schema):
    external_id: str = EXTERNAL_ID
    customer: CustomerIn
    channel: Channel = Field(description="Where the conversation began.")
    subject: str = Field("", max_length=SUBJECT_MAX_LENGTH)
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description='Key/value pairs, e.g. {"order_number": "A-1042"}; conversation settings choose which ones '
        "customers see.",
    )
    message: MessageIn = Field(description="The conversation's first message.")


class CustomerOut(Schema):
    email: str
    name: str


class AttachmentOut(Schema):
    id: int
    filename: str = Field(description="As cleaned and stored.")
    size: int = Field(description="In bytes.")
    content_type: str = Field(description="As detected from the content.")


class MessageOut(Schema):
    id: int
    conversation: int
    external_id: str
    direction: MessageDirection
    channel: Channel
    author_name: str
    body: str
    created_at: datetime = Field(description="In UTC.")
    attachments: list[AttachmentOut]


class ConversationOut(Schema):
    id: int
    external_id: str
    customer: CustomerOut
    channel: Channel
    subject: str
    status: Conversation.Status
    attributes: dict[str, Any]
    created_at: datetime
    message: MessageOut = Field(description="The conversation's first message, as the call gave it.")


def _organisation(request: HttpRequest) -> Organisation:
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    return key.organisation


def _one_line(text: str, field: str) -> str:
    """On one line, as a name or subject is shown; refused if it holds what can't be stored."""
    text = one_line(text)
    if has_unstorable(text):
        raise ApiError(422, f"invalid_{field}", f"The {field.replace('_', ' ')} is text without control characters.")
    return text


def _name(text: str, field: str) -> str:
    """A name on one line, refused as the customer's profile refuses it: also with formatting that disguises it.
    A subject is not a name: mirrored from an email's subject line, it is kept as that line was."""
    text = _one_line(text, field)
    if has_invisible_formatting(text):
        raise ApiError(
            422,
            f"invalid_{field}",
            f"The {field.replace('_', ' ')} is text without invisible formatting characters (such as a right-to-left "
            "mark or a zero-width space).",
        )
    return text


def _external_id(text: str) -> str:
    if not text.isprintable() or text != text.strip():
        raise ApiError(422, "invalid_external_id", "An external id is printable characters, without spaces around.")
    return text


def _email(text: str) -> str:
    email = normalise_email(text)
    try:
        # Measured once normalised: lower case may be longer ("İ" is two characters lower-cased).
        if has_unstorable(email) or len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError("unstorable")
        validate_email(email)
    except ValidationError:
        raise ApiError(422, "invalid_email", "Give the customer's valid email address.") from None
    return email


def _attachments(payload: MessageIn) -> tuple[CheckedUpload, ...]:
    """Each file decoded and checked as the portal's reply form checks a customer's; the first refused is named."""
    sent = payload.attachments
    if len(sent) > MAX_ATTACHMENTS:
        raise _too_many_attachments(len(sent))
    name_length = Attachment._meta.get_field("original_name").max_length or 255
    checked = []
    for index, attachment in enumerate(sent):
        name = original_name(attachment.filename, max_length=name_length)
        try:
            content = base64.b64decode(attachment.content_base64, validate=True)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise ApiError(
                422,
                "attachment_invalid_base64",
                f"attachments[{index}]: “{name}” is not in base64 (RFC 4648, with padding, no line breaks).",
            ) from None
        file = SimpleUploadedFile(name, content)
        try:
            kind = validate_upload(file, allowed=ATTACHMENT_KINDS, max_size=MAX_ATTACHMENT_SIZE)
        except ValidationError as refused:
            raise ApiError(422, f"attachment_{refused.code}", f"attachments[{index}]: {refused.messages[0]}") from None
        checked.append(CheckedUpload(file=file, kind=kind))
    return tuple(checked)


def _channel_message(payload: MessageIn) -> ChannelMessage:
    # Line breaks as the portal keeps them; any other control character (NUL) or a lone surrogate can't be stored.
    body = payload.body.replace("\r\n", "\n").replace("\r", "\n")
    if any(is_unstorable(char) for char in body if char not in "\n\t"):
        raise ApiError(422, "invalid_body", "The body is text without control characters other than line breaks.")
    if not body.strip():
        raise ApiError(422, "invalid_body", "The body is empty.")
    if not EARLIEST <= payload.created_at <= timezone.now() + CLOCK_SKEW:
        raise ApiError(422, "invalid_created_at", "created_at is a time between 2000 and now.")
    return ChannelMessage(
        external_id=_external_id(payload.external_id),
        direction=payload.direction,
        channel=payload.channel,
        author_name=_name(payload.author_name, "author_name"),
        body=body,
        created_at=payload.created_at,
        attachments=_attachments(payload),
    )


def _message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.pk,
        conversation=message.conversation_id,
        external_id=message.external_id,
        direction=MessageDirection(message.direction),
        channel=Channel(message.channel),
        author_name=message.author_name,
        body=message.body,
        created_at=message.created_at.astimezone(UTC),
        attachments=[
            AttachmentOut(id=a.pk, filename=a.original_name, size=a.size, content_type=a.content_type)
            for a in message.attachments.all()
        ],
    )


def body_max_size() -> int:
    """The largest body of a call that may carry attachments: what every other call may send, and a message's
    largest attachments in base64 besides, rounded up to whole megabytes to be said plainly."""
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + MAX_ATTACHMENTS * base64_length(MAX_ATTACHMENT_SIZE)
    return math.ceil(size / MEGABYTE) * MEGABYTE


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"The request body is too large: at most {size_label(limit)}.")


def _too_many_attachments(count: int) -> ApiError:
    return ApiError(
        422, "too_many_attachments", f"The message has {count} attachments; it may have at most {MAX_ATTACHMENTS}."
    )


# A file's content in the raw body: base64, its "/" escaped or not ("\/", as PHP writes JSON).
_FILE_CONTENT = re.compile(rb'"content_base64"\s*:\s*"((?:[A-Za-z0-9+/=]|\\/)*)"')


def _only_files_beyond_the_usual_limit(body: bytes) -> None:
    """The larger body is for the files alone: the rest of the call is held to the limit of every other call.

    Measured on the raw body, before it is parsed: parsed, 27 MB of anything else (millions of empty attachments,
    say) would take most of a gigabyte before any check of the parsed call could refuse it.
    """
    contents = [found.end(1) - found.start(1) for found in _FILE_CONTENT.finditer(body)]
    if len(contents) > MAX_ATTACHMENTS:
        raise _too_many_attachments(len(contents))
    if len(body) - sum(contents) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        limit = size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        raise ApiError(413, "too_large", f"The request body is too large: at most {limit} besides its attachments.")


class ApiKeyAuth(api_keys.ApiKeyAuth):
    """The API's key, then the body of a call that may carry attachments, read within `body_max_size` rather than
    within DATA_UPLOAD_MAX_MEMORY_SIZE, the limit of every other call.

    Read only once the key is known good, so nobody without one can make the portal hold that much. Named as the
    class it extends: the OpenAPI document names the scheme after the class, and it is the same key.
    """

    def authenticate(self, request, token):
        key = super().authenticate(request, token)
        if key is not None and not hasattr(request, "_body"):
            limit = body_max_size()
            # A number: RequestGuardMiddleware refuses any other, and any body over MAX_REQUEST_BODY, unread.
            if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
                raise _too_large(limit)
            try:
                body = request.read(limit + 1)  # a declared length may understate the body (ASGI)
            except OSError as error:
                raise UnreadablePostError(*error.args) from error
            if len(body) > limit:
                raise _too_large(limit)
            if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                _only_files_beyond_the_usual_limit(body)
            # Where HttpRequest.body keeps what it read: it then answers with this body instead of reading its own.
            request._body = body
        return key


# The answers of the two calls: besides every call's, a conflict of external ids, and a body too large.
CHANNEL_CALL_ERRORS = {**ERRORS, 409: ErrorOut, 413: ErrorOut}


@router.post(
    "/conversations",
    response={200: ConversationOut, 201: ConversationOut, **CHANNEL_CALL_ERRORS},
    auth=ApiKeyAuth(),
    summary="Create a conversation with its first message",
)
def conversation_create(request, payload: ConversationIn):
    """A conversation begun in another channel, for the customer with that email (made if the organisation has
    none yet): 201. The same call again answers 200 with what the first made; the same `external_id` with another
    customer, channel, subject, attributes or first message (its attachments compared by their SHA-256) is a 409.
    Nobody is emailed."""
    attributes = payload.attributes
    if not attributes_storable(attributes):
        raise ApiError(422, "invalid_attributes", ATTRIBUTES_UNSTORABLE)
    try:
        conversation, message, created = conversation_from_channel_create(
            organisation=_organisation(request),
            external_id=_external_id(payload.external_id),
            email=_email(payload.customer.email),
            name=_name(payload.customer.name, "name"),
            channel=payload.channel,
            subject=_one_line(payload.subject, "subject"),
            attributes=attributes,
            first=_channel_message(payload.message),
        )
    except ExternalIdTaken as taken:
        raise ApiError(409, "external_id_taken", str(taken)) from None
    answer = ConversationOut(
        id=conversation.pk,
        external_id=conversation.external_id,
        customer=CustomerOut(email=conversation.customer.email, name=conversation.customer.name),
        channel=Channel(conversation.channel),
        subject=conversation.subject,
        status=Conversation.Status(conversation.status),
        attributes=conversation.attributes,
        created_at=conversation.created_at.astimezone(UTC),
        message=_message_out(message),
    )
    return Status(201 if created else 200, answer)


@router.post(
    "/conversations/{id}/messages",
    response={200: MessageOut, 201: MessageOut, **CHANNEL_CALL_ERRORS},
    auth=ApiKeyAuth(),
    summary="Add a message to a conversation",
)
def conversation_message_add(request, id: int, payload: MessageIn):
    """A message of the conversation's from another channel, inbound or outbound: 201. The same call again answers
    200 with the message the first added; the same `external_id` with anything else (other files too) is a 409. The
    conversation's status stays as staff set it, and nobody is emailed: the channel delivered the message already."""
    message = _channel_message(payload)
    if not 0 < id < 2**63:
        raise ApiError(404, "conversation_not_found", "This organisation has no conversation with that id.")
    try:
        added, created = conversation_message_from_channel_add(
            organisation=_organisation(request), conversation_id=id, message=message
        )
    except Conversation.DoesNotExist:
        raise ApiError(404, "conversation_not_found", "This organisation has no conversation with that id.") from None
    except ExternalIdTaken as taken:
        raise ApiError(409, "external_id_taken", str(taken)) from None
    return Status(201 if created else 200, _message_out(added))
