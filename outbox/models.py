from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

SCRUBBED = "[link removed from the stored copy after sending]"
WITHDRAWN = "[withdrawn: what this email said was redacted]"


class OutboxEmail(models.Model):
    """An email recorded in the same transaction as the action that caused it, delivered after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
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

    def scrub_secrets(self) -> None:
        """Remove the sign-in links from the stored copy: once delivered, only the mailbox holds them."""
        for secret in self.secrets:
            self.body_text = self.body_text.replace(secret, SCRUBBED)
            self.body_html = self.body_html.replace(secret, SCRUBBED)
        self.secrets = []

    def mark_sent(self) -> None:
        self.status = self.Status.SENT
        self.sent_at = timezone.now()
        self.attempts += 1
        self.last_error = ""
        self.scrub_secrets()
        self.save(update_fields=["status", "sent_at", "attempts", "last_error", "body_text", "body_html", "secrets"])

    def mark_failed(self, error: Exception) -> None:
        self.attempts += 1
        self.last_error = f"{type(error).__name__}: {error}"[:2000]
        if self.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            self.status = self.Status.FAILED
        # Back off exponentially, from one minute up to six hours.
        self.next_attempt_at = timezone.now() + min(timedelta(minutes=2 ** (self.attempts - 1)), timedelta(hours=6))
        self.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
