from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal_auth.models import Organisation


class OutboxEmail(models.Model):
    """An email recorded in the same transaction as the action that caused it, delivered after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up (retry from admin)"

    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    template = models.CharField(max_length=120, help_text="Which email this is.")
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

    def mark_sent(self) -> None:
        self.status = self.Status.SENT
        self.sent_at = timezone.now()
        self.attempts += 1
        self.last_error = ""
        self.save(update_fields=["status", "sent_at", "attempts", "last_error"])

    def mark_failed(self, error: Exception) -> None:
        self.attempts += 1
        self.last_error = f"{type(error).__name__}: {error}"[:2000]
        if self.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            self.status = self.Status.FAILED
        # Back off exponentially, from one minute up to six hours.
        self.next_attempt_at = timezone.now() + min(timedelta(minutes=2 ** (self.attempts - 1)), timedelta(hours=6))
        self.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
