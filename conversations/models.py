import math
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal_auth.models import Customer, Organisation
from portal_core.templatetags.portal import choice_label
from portal_core.uploads import StoredUpload

# The business's ids of a conversation and of a message (a thread's, an email's Message-ID, a WhatsApp id).
EXTERNAL_ID_MAX_LENGTH = 200


class Channel(models.TextChoices):
    CHAT = "chat", "Chat"
    EMAIL = "email", "Email"
    MESSENGER = "messenger", "Facebook Messenger"
    FORMS = "forms", "Forms"
    INSTAGRAM = "instagram", "Instagram"
    PORTAL = "portal", "Portal"
    SMS = "sms", "SMS"
    TWITTER = "twitter", "Twitter/X"
    WHATSAPP = "whatsapp", "WhatsApp"


class ConversationShownFacts:
    """How a conversation is named and labelled on the customer's pages: of a Conversation, and of a row of a list."""

    __slots__ = ()
    subject: str
    channel: str
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == Conversation.Status.OPEN

    @property
    def title(self) -> str:
        return self.subject or f"{self.channel_label} conversation"

    @property
    def channel_label(self) -> str:
        return choice_label(Conversation, "channel", self.channel)

    @property
    def status_label(self) -> str:
        return choice_label(Conversation, "status", self.status)


ATTRIBUTES_UNSTORABLE = (
    "Attributes can't contain the NUL character (\\u0000), half of a surrogate pair (\\ud800), or numbers too big "
    "to store (1e999, NaN, Infinity)."
)


def attributes_storable(value: object) -> bool:
    """Whether PostgreSQL's jsonb takes the value: it refuses NUL and unpaired surrogates in any key or string, and
    numbers that aren't finite (which Python's json reads from 1e999, NaN, Infinity). Walked without recursion,
    since JSON nests as deep as the text goes."""
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item or not _encodable(item):
                return False
        elif isinstance(item, float) and not math.isfinite(item):
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


class Conversation(ConversationShownFacts, models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="conversations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=20, choices=Channel.choices, help_text="Where the conversation began.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    subject = models.CharField(max_length=200, blank=True)
    # Kept with the row, so the detail page reads them without another query.
    attributes = models.JSONField(
        "extra attributes",
        default=dict,
        blank=True,
        help_text='Key/value pairs, e.g. {"order_number": "A-1042"}. '
        "Conversation settings choose which ones customers see.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # What "newest activity first" sorts by: moved on by every message the customer can see.
    last_activity_at = models.DateTimeField(default=timezone.now)
    # The business's id for the thread in its own channel, given through the API: the same thread sent again is
    # this conversation, not another.
    external_id = models.CharField(
        "external id",
        max_length=EXTERNAL_ID_MAX_LENGTH,
        blank=True,
        default="",
        db_default="",
        help_text="The business's id for this conversation in its channel, sent through the API.",
    )
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second conversation.
    # Unique across organisations, since the page, not the organisation chosen on it, is what was sent twice.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["-last_activity_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "customer", "-last_activity_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_id"],
                condition=~Q(external_id=""),
                name="conversation_external_id_unique",
            ),
            models.UniqueConstraint(
                fields=["request_token"], condition=~Q(request_token=""), name="conversation_created_once"
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation {self.pk}"


class MessageDirection(models.TextChoices):
    FROM_CUSTOMER = "from_customer", "From customer"
    FROM_STAFF = "from_staff", "From staff"


class MessageShownFacts:
    """What a message's direction and redaction say: of a Message, and of a row read for the customer's page."""

    __slots__ = ()
    direction: str
    redacted_at: datetime | None

    @property
    def is_redacted(self) -> bool:
        return self.redacted_at is not None

    @property
    def from_customer(self) -> bool:
        return self.direction == MessageDirection.FROM_CUSTOMER


class Message(MessageShownFacts, models.Model):
    Direction = MessageDirection

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, help_text="Where this message came through.")
    body = models.TextField(blank=True)
    internal = models.BooleanField("internal note", default=False, help_text="Seen by staff only, never by customers.")
    author_name = models.CharField(max_length=254, blank=True)  # a name, or an email where there is none
    staff_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    redacted_at = models.DateTimeField(null=True, blank=True)
    redacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The sending (the customer's form, staff's admin page) this message answered: the same one sent again makes no
    # second message.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)
    # The business's id for the message in its own channel, given through the API: the same message sent again is
    # this one, not another.
    external_id = models.CharField(max_length=EXTERNAL_ID_MAX_LENGTH, blank=True, default="", db_default="")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "request_token"], condition=~Q(request_token=""), name="message_sent_once"
            ),
            models.UniqueConstraint(
                fields=["conversation", "external_id"],
                condition=~Q(external_id=""),
                name="message_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class Attachment(StoredUpload):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    # What a retry of the API call that sent the file is compared by: the same bytes again, or others.
    sha256 = models.CharField(
        "SHA-256",
        max_length=64,
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text="Of a file sent through the API, in hex.",
    )

    class Meta:
        ordering = ["pk"]

    def storage_folder(self) -> str:
        return f"conversations/{timezone.now():%Y/%m}"


class ConversationSettings(models.Model):
    """How one organisation's conversations appear in the portal."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="conversation_settings")
    customers_may_reopen = models.BooleanField(
        "customers may reopen closed conversations",
        default=True,
        help_text="When on, a customer's message on a closed conversation reopens it.",
    )

    class Meta:
        verbose_name = "conversation settings"
        verbose_name_plural = "conversation settings"

    def __str__(self) -> str:
        return f"Conversation settings of {self.organisation}"


class DisplayedAttribute(models.Model):
    """An extra attribute shown on the conversation page, under a name customers understand."""

    settings = models.ForeignKey(ConversationSettings, on_delete=models.CASCADE, related_name="displayed_attributes")
    key = models.CharField(max_length=100, help_text="The key in the conversation's extra attributes.")
    display_name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0, help_text="Smaller numbers come first.")

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint("settings", "key", name="displayed_attribute_once_per_key")]

    def __str__(self) -> str:
        return self.display_name
