import logging
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from outbox.background import after_commit_in_background
from outbox.models import WITHDRAWN, OutboxEmail

logger = logging.getLogger(__name__)


class EmailSender(Protocol):
    """What the outbox reads of whoever an email is from (a portal_auth Organisation): plain values only,
    so the outbox sits below every app that sends email and imports none of them."""

    pk: Any
    public_name: str
    support_email: str


def email_enqueue(
    *,
    to: str,
    template: str,
    context: dict,
    organisation: EmailSender | None = None,
    secrets: Iterable[str] = (),
    reference: str = "",
) -> OutboxEmail:
    """Render `template` (a folder holding subject.txt, body.txt and body.html) into the outbox.

    Call inside the transaction of the action that causes the email: it is sent only if that
    action commits, and stays in the outbox to be retried if sending fails. `secrets` (links
    carrying a token) are hidden from staff and scrubbed from the stored copy once sent;
    `reference` names what caused the email, for `outbox_withdraw`.
    """
    context = {"organisation": organisation, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"{template}/subject.txt", context, using="text").split())
    email = OutboxEmail.objects.create(
        organisation_id=organisation.pk if organisation else None,
        template=template,
        from_email=_from_address(organisation),
        to=to,
        reply_to=organisation.support_email if organisation else "",
        subject=subject[:300],
        body_text=render_to_string(f"{template}/body.txt", context, using="text"),
        body_html=render_to_string(f"{template}/body.html", context),
        secrets=[secret for secret in secrets if secret],
        reference=reference,
    )
    # The response must not wait on the mail server: its timing would tell whether an email went out.
    after_commit_in_background(lambda: outbox_deliver(ids=[email.pk]), description=f"delivery of email {email.pk}")
    return email


def outbox_withdraw(*, reference: str) -> int:
    """Withdraw what `reference` (a redacted message, say) said: unsent emails are cancelled, and the stored
    copy of every email it caused, sent ones included, keeps no text. Returns how many were cancelled."""
    emails = OutboxEmail.objects.filter(reference=reference)
    cancelled = emails.filter(status__in=[OutboxEmail.Status.PENDING, OutboxEmail.Status.FAILED]).update(
        status=OutboxEmail.Status.CANCELLED, last_error="Cancelled"
    )
    emails.update(body_text=WITHDRAWN, body_html=WITHDRAWN, secrets=[])
    return cancelled


def _from_address(organisation: EmailSender | None) -> str:
    if organisation is None:
        return settings.DEFAULT_FROM_EMAIL
    name = organisation.public_name.replace('"', "'")
    return f'"{name}" <{settings.DEFAULT_FROM_EMAIL}>'


def outbox_deliver(*, ids: Iterable[int] | None = None, limit: int = 500) -> tuple[int, int]:
    """Send due emails (or just `ids`); return (sent, failed). Safe to run in many processes at once."""
    due = OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING)
    due = due.filter(pk__in=list(ids)) if ids is not None else due.filter(next_attempt_at__lte=timezone.now())
    sent = failed = 0
    connection = None
    for pk in due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            # Another process sending the same email skips it instead of sending it twice.
            email = (
                OutboxEmail.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=OutboxEmail.Status.PENDING)
                .first()
            )
            if email is None:
                continue
            try:
                connection = connection or mailers.default
                connection.send_messages([_message(email)])
            except Exception as error:  # any backend error: keep the email and retry later
                logger.warning("Email %s to %s not sent: %s", email.pk, email.to, error)
                email.mark_failed(error)
                connection = None
                failed += 1
            else:
                email.mark_sent()
                sent += 1
    return sent, failed


def _message(email: OutboxEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=email.from_email,
        to=[email.to],
        reply_to=[email.reply_to] if email.reply_to else None,
        headers={"X-Outbox-Id": str(email.pk)},
    )
    message.attach_alternative(email.body_html, "text/html")
    return message
