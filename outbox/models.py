import secrets
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db import models
from django.utils import timezone

SCRUBBED = "[link removed from the stored copy after sending]"
WITHDRAWN = "[withdrawn: what this email said was redacted]"


class OutboxEmail(models.Model):
    """An email recorded in the same transaction as the action that caused it, delivered after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up (retry from admin)"
        CANCELLED = "cancelled", "Cancelled before sending"

    organisation = models.ForeignKey(
        # Named by string: the outbox sits below portal_auth and imports none of it.
        "portal_auth.Organisation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    template = models.CharField(max_length=120, help_text="Which email this is.")
    # What caused the email ("conversations.message:42"), so it can be cancelled if that thing is withdrawn.
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    # Secrets in the body (sign-in links); needed until delivery, then scrubbed from it and cleared.
    secrets = models.JSONField(default=list, blank=True)
    # When what it carries (a code, a link) stops working: not sent after that, by a retry or by staff.
    useless_after = models.DateTimeField(null=True, blank=True)
    # Sent with every attempt, so a mailbox can tell a repeated delivery from a new email.
    message_id = models.CharField(max_length=200, blank=True)
    from_email = models.CharField(max_length=254)
    to = models.EmailField()
    reply_to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Retries go on until OUTBOX_RETRY_HORIZON after this: the creation, or when staff last sent it again.
    retry_from = models.DateTimeField(default=timezone.now)
    # Who is sending it ("sending") and since when: a claim older than OUTBOX_SENDING_STALE_AFTER was interrupted.
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outgoing email"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"

    @property
    def has_secrets(self) -> bool:
        return bool(self.secrets)

    def retry_after_failure(self, *, now: datetime) -> tuple[str, datetime]:
        """The status and next attempt after this many failed attempts: back off exponentially from one minute
        to OUTBOX_RETRY_INTERVAL_MAX, and give up once the next attempt would fall beyond the retry horizon, or
        cancel the email once it would be sent too late for what it carries."""
        delay = min(timedelta(minutes=2 ** min(max(self.attempts - 1, 0), 16)), settings.OUTBOX_RETRY_INTERVAL_MAX)
        next_attempt_at = now + delay
        if self.useless_after is not None and next_attempt_at >= self.useless_after:
            return self.Status.CANCELLED, next_attempt_at
        if next_attempt_at > self.retry_from + settings.OUTBOX_RETRY_HORIZON:
            return self.Status.FAILED, next_attempt_at
        return self.Status.PENDING, next_attempt_at


class OutboxAttachment(models.Model):
    """A file sent with an email (an invoice's PDF), kept with it until the email is sent, withdrawn or deleted."""

    email = models.ForeignKey(OutboxEmail, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()

    def __str__(self) -> str:
        return self.filename


def new_message_id() -> str:
    """`<outbox-<random>@<sender's domain>>`: unique, and the same for every attempt to send that email.
    Known before the email's row is written, so recording an email takes one INSERT."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<outbox-{secrets.token_hex(16)}@{domain}>"
