import contextvars
import logging
import os
import smtplib
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, tzinfo
from email.headerregistry import Address
from email.utils import parseaddr
from secrets import token_hex
from typing import Any, NamedTuple, Protocol

from anymail.exceptions import AnymailRecipientsRefused, AnymailUnsupportedFeature
from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.expressions import Combinable
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Replace
from django.template.loader import render_to_string
from django.utils import timezone

from outbox.messages import OutboxMessage
from outbox.models import SCRUBBED, WITHDRAWN, OutboxAttachment, OutboxEmail, new_message_id
from portal_core.tasks import task_enqueue
from portal_core.text import is_unstorable

logger = logging.getLogger(__name__)

# Emails claimed, sent over one connection and recorded at once: few enough that a claim ends well within
# OUTBOX_SENDING_STALE_AFTER, and that an interrupted batch sends few emails twice.
CLAIM_BATCH = 100
# How a run that stopped because the mail server failed to answer says so.
UNREACHABLE = "the mail server could not be reached"
# How the record of an email the server refused, may have accepted, or that was not sent in time, begins.
EXPIRED_UNSENT = "Not sent: what it carries (a code, a link) stopped working before it could be"
REFUSED_FOR_GOOD = "Refused for good, not retried"
MAYBE_SENT = "The mail server stopped answering while the email was being sent, so it may have arrived"
# Errors of the mail server (down, silent, hanging up), as opposed to a refusal of one email.
SERVER_ERRORS = (
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
)

# Ids of emails enqueued inside `outbox_collect()`, for its caller to deliver.
_collected: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("outbox_collected", default=None)


class EmailSender(Protocol):
    """What the outbox reads of whoever an email is from (a portal_auth Organisation): plain values only,
    so the outbox sits below every app that sends email and imports none of them."""

    @property
    def pk(self) -> Any: ...
    @property
    def public_name(self) -> str: ...
    @property
    def support_email(self) -> str: ...
    @property
    def zone(self) -> tzinfo: ...


def email_enqueue(
    *,
    to: str,
    template: str,
    context: dict,
    organisation: EmailSender | None = None,
    secrets: Iterable[str] = (),
    reference: str = "",
    attachments: Sequence["EmailAttachment"] = (),
    useless_after: datetime | None = None,
) -> OutboxEmail:
    """Render `template` (a folder holding subject.txt, body.txt and body.html) into the outbox.

    Call inside the transaction of the action that causes the email: it is sent only if that
    action commits, and stays in the outbox to be retried if sending fails. `secrets` (links
    carrying a token) are hidden from staff and scrubbed from the stored copy once sent;
    `reference` names what caused the email, for `outbox_withdraw`; `attachments` are stored with it;
    `useless_after` is when what it carries (a code, a link) stops working, after which it is not sent.
    """
    draft = EmailDraft(
        to=to,
        context=context,
        secrets=tuple(secrets),
        reference=reference,
        attachments=tuple(attachments),
        useless_after=useless_after,
    )
    (email,) = emails_enqueue(template=template, organisation=organisation, drafts=[draft])
    return email


class EmailAttachment(NamedTuple):
    filename: str
    content: bytes
    content_type: str


class EmailDraft(NamedTuple):
    """One email of `emails_enqueue`: whom it goes to, what its template is given, as for `email_enqueue`."""

    to: str
    context: dict
    secrets: tuple[str, ...] = ()
    reference: str = ""
    attachments: tuple[EmailAttachment, ...] = ()
    useless_after: datetime | None = None


def emails_enqueue(
    *, template: str, drafts: Sequence[EmailDraft], organisation: EmailSender | None = None
) -> list[OutboxEmail]:
    """`email_enqueue` for many emails of one template from one sender: one INSERT, one delivery task."""
    emails = [_rendered(template, organisation, draft) for draft in drafts]
    OutboxEmail.objects.bulk_create(emails)
    files = [
        OutboxAttachment(email=email, filename=file.filename, content_type=file.content_type, content=file.content)
        for email, draft in zip(emails, drafts, strict=True)
        for file in draft.attachments
    ]
    if files:
        OutboxAttachment.objects.bulk_create(files)
    ids = [email.pk for email in emails]
    collected = _collected.get()
    if collected is not None:
        transaction.on_commit(lambda: collected.extend(ids))
    else:
        # The response must not wait on the mail server: its timing would tell whether an email went out.
        _deliver_after_commit(ids)
    return emails


def _rendered(template: str, organisation: EmailSender | None, draft: EmailDraft) -> OutboxEmail:
    # Dates and times in the organisation's zone, wherever the email is written (a page, a task, the admin, a command).
    with timezone.override(organisation.zone) if organisation else nullcontext():
        return _written(template, organisation, draft)


def _written(template: str, organisation: EmailSender | None, draft: EmailDraft) -> OutboxEmail:
    context = {"organisation": organisation, "site_url": settings.SITE_URL, **draft.context}
    subject = " ".join(render_to_string(f"{template}/subject.txt", context, using="text").split())
    return OutboxEmail(
        organisation_id=organisation.pk if organisation else None,
        template=template,
        from_email=_from_address(organisation),
        to=draft.to,
        reply_to=organisation.support_email if organisation else "",
        subject=subject[:300],
        body_text=render_to_string(f"{template}/body.txt", context, using="text"),
        body_html=render_to_string(f"{template}/body.html", context),
        secrets=[secret for secret in draft.secrets if secret],
        reference=draft.reference,
        useless_after=draft.useless_after,
        message_id=new_message_id(),
    )


@contextmanager
def outbox_collect() -> Iterator[list[int]]:
    """Within this block, emails enqueued by this thread get no delivery task: the ids
    of those committed gather in the list yielded, for the caller to send with `outbox_deliver(ids=...)`.
    A command uses it to deliver its own emails before it exits."""
    collected: list[int] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def outbox_requeue(*, ids: Iterable[int]) -> int:
    """Send these emails again now, if waiting or given up: due at once, with a fresh retry horizon. They are
    sent after commit by a delivery task (and by send_outbox), never while the caller waits. Returns how many."""
    now = timezone.now()
    resendable = [OutboxEmail.Status.PENDING, OutboxEmail.Status.FAILED]
    with transaction.atomic():
        queued = list(
            OutboxEmail.objects.select_for_update()
            .filter(pk__in=list(ids), status__in=resendable)
            .filter(still_useful(now))
            .values_list("pk", flat=True)
        )
        OutboxEmail.objects.filter(pk__in=queued).update(
            status=OutboxEmail.Status.PENDING, next_attempt_at=now, retry_from=now
        )
        _deliver_after_commit(queued)
    return len(queued)


def outbox_withdraw(*, reference: str) -> int:
    """Withdraw what `reference` (a redacted message, say) said: unsent emails are cancelled, and the stored
    copy of every email it caused, sent ones included, keeps no text. Returns how many were cancelled.

    An email being sent at that moment may still go out; one whose sending was interrupted is not sent again."""
    if not reference:
        raise ValueError("Only emails with a reference can be withdrawn.")
    emails = OutboxEmail.objects.filter(reference=reference)
    unsent = [OutboxEmail.Status.PENDING, OutboxEmail.Status.SENDING, OutboxEmail.Status.FAILED]
    cancelled = emails.filter(status__in=unsent).update(status=OutboxEmail.Status.CANCELLED, last_error="Cancelled")
    emails.update(body_text=WITHDRAWN, body_html=WITHDRAWN, secrets=[])
    OutboxAttachment.objects.filter(email__reference=reference).delete()
    return cancelled


def _from_address(organisation: EmailSender | None) -> str:
    """The portal's address under the organisation's name, as staff typed it: on one line, and quoted the way
    RFC 5322 quotes (a backslash or a quote in the name can't end it early and break every email it sends)."""
    if organisation is None:
        return settings.DEFAULT_FROM_EMAIL
    printable = "".join(" " if is_unstorable(character) else character for character in organisation.public_name)
    return str(Address(display_name=" ".join(printable.split()), addr_spec=parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


class Delivery(NamedTuple):
    sent: int
    failed: int
    stopped: str = ""  # why the run ended before every due email was tried, if it did

    @property
    def server_unreachable(self) -> bool:
        return self.stopped.startswith(UNREACHABLE)


def outbox_deliver(*, ids: Iterable[int] | None = None, limit: int = 500, time_budget: float | None = None) -> Delivery:
    """Send the emails due when the run begins (or just `ids`, due or not), each tried at most once.
    Safe to run in many processes and threads at once.

    Emails are claimed a batch at a time in a short transaction (marked "sending", locked rows skipped),
    sent over one connection with no transaction or lock held; a failure is recorded at once, and the emails
    the batch delivered in one UPDATE at its end.
    The run ends after `limit` emails, once `time_budget` seconds (OUTBOX_SEND_TIME_BUDGET) are spent, or
    as soon as the mail server can't be reached or times out: the rest waits for the next run.

    An email still "sending" after OUTBOX_SENDING_STALE_AFTER was interrupted (the process died, the
    database went away) perhaps after the mail server accepted it: it is sent again, with the same
    Message-ID, so it reaches the recipient at most twice and their mail program can tell.
    """
    untried = list(ids) if ids is not None else None
    started = timezone.now()
    budget = settings.OUTBOX_SEND_TIME_BUDGET if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    owner = f"{socket.gethostname()[:60]}:{os.getpid()}:{token_hex(4)}"
    sent = failed = 0
    stopped = ""
    while not stopped and sent + failed < limit:
        batch = _claim(ids=untried, due_by=started, owner=owner, size=min(CLAIM_BATCH, limit - sent - failed))
        if not batch:
            break
        if untried is not None:
            claimed = {email.pk for email in batch}
            untried = [pk for pk in untried if pk not in claimed]
        mailer = mailers.default
        accepted: list[OutboxEmail] = []
        try:
            for index, email in enumerate(batch):
                if time.monotonic() >= deadline:
                    stopped = f"its time budget of {budget:g} s was spent"
                    _release(batch[index:], owner=owner)
                    break
                # Only an email with a reference can be withdrawn: the others need no look before sending.
                if email.reference and not _still_claimed(email, owner=owner):
                    continue  # withdrawn since it was claimed
                error = _send(mailer, email)
                if error is None:
                    accepted.append(email)
                    continue
                failed += 1
                if _server_unreachable(error):
                    # Every email after this one would wait out the same timeout: leave them for the next run.
                    stopped = f"{UNREACHABLE} ({_describe(error)})"
                    _release(batch[index + 1 :], owner=owner)
                    break
        finally:
            _hang_up(mailer)
            # One UPDATE for the batch; if the process dies first, the claims go stale and are sent again.
            _record_sent(accepted)
            sent += len(accepted)
    if stopped:
        logger.warning("Outbox run stopped early after %s sent and %s failed: %s", sent, failed, stopped)
    return Delivery(sent, failed, stopped)


def _message(email: OutboxEmail) -> OutboxMessage:
    message = OutboxMessage(
        subject=email.subject,
        text=email.body_text,
        html=email.body_html,
        from_email=email.from_email,
        to=email.to,
        reply_to=email.reply_to,
        headers={"Message-ID": email.message_id, "X-Outbox-Id": str(email.pk)},
    )
    for file in email.attachments.all():  # prefetched with the claim
        message.attach(file.filename, bytes(file.content), file.content_type)
    return message


def _deliver_after_commit(ids: list[int]) -> None:
    """A delivery task, written in the caller's transaction: the emails and their delivery commit together."""
    if ids:
        from outbox.tasks import outbox_deliver_task  # the task module imports this one

        task_enqueue(outbox_deliver_task, ids=ids)


def _claim(*, ids: list[int] | None, due_by: datetime, owner: str, size: int) -> list[OutboxEmail]:
    """Mark up to `size` emails "sending" by `owner`, in one short transaction, and return them: those of `ids`
    still waiting, or else those due by `due_by` (when the run started)."""
    now = timezone.now()
    interrupted = Q(status=OutboxEmail.Status.SENDING, claimed_at__lt=now - settings.OUTBOX_SENDING_STALE_AFTER)
    waiting = Q(status=OutboxEmail.Status.PENDING)
    # Once per run: an email that just failed is due again no sooner than a minute later, after `due_by`;
    # one named by `ids` is named only until it is claimed.
    if ids is None:
        waiting &= Q(next_attempt_at__lte=due_by)
    elif not ids:
        return []
    claimable = OutboxEmail.objects.filter(waiting | interrupted)
    if ids is not None:
        claimable = claimable.filter(pk__in=ids)
    # A code or a link sent after it stopped working would only mislead: such an email is cancelled, not sent.
    claimable.exclude(still_useful(now)).update(status=OutboxEmail.Status.CANCELLED, last_error=EXPIRED_UNSENT)
    claimable = claimable.filter(still_useful(now))
    with transaction.atomic():
        # Emails another sender is claiming at this moment are skipped, not waited for.
        chosen = dict(
            claimable.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "status")[:size]
        )
        if not chosen:
            return []
        resumed = [pk for pk, status in chosen.items() if status == OutboxEmail.Status.SENDING]
        if resumed:
            logger.warning("Emails %s were interrupted while being sent; sending them again", resumed)
            OutboxEmail.objects.filter(pk__in=resumed).update(
                last_error="Interrupted while being sent (the mail server may have accepted it): sent again "
                "with the same Message-ID."
            )
        # The condition again: without row locks (SQLite), another sender may have claimed some meanwhile.
        claimable.filter(pk__in=chosen).update(status=OutboxEmail.Status.SENDING, claimed_by=owner, claimed_at=now)
        claimed = list(
            OutboxEmail.objects.filter(pk__in=chosen, claimed_by=owner)
            .order_by("next_attempt_at", "pk")
            .prefetch_related("attachments")
        )
    for email in claimed:
        if not email.message_id:  # recorded before emails had one
            email.message_id = new_message_id()
            email.save(update_fields=["message_id"])
    return claimed


def still_useful(now: datetime) -> Q:
    """Emails whose content still works at `now` (most never stop: they have no useless_after)."""
    return Q(useless_after__isnull=True) | Q(useless_after__gt=now)


def _still_claimed(email: OutboxEmail, *, owner: str) -> bool:
    return OutboxEmail.objects.filter(pk=email.pk, status=OutboxEmail.Status.SENDING, claimed_by=owner).exists()


def _send(mailer: BaseEmailBackend, email: OutboxEmail) -> Exception | None:
    """Send one claimed email; record and return the error, if any (the caller records those sent)."""
    under_way = False
    try:
        mailer.open()  # once per batch: later emails reuse the connection
        under_way = True
        mailer.send_messages([_message(email)])
    except Exception as error:  # any backend error: keep the email and retry later, unless it can't ever go
        logger.warning("Email %s to %s not sent: %s", email.pk, email.to, error)
        _record_failure(email, error, under_way=under_way)
        _hang_up(mailer)
        return error
    return None


def _record_sent(emails: list[OutboxEmail]) -> None:
    """Mark these emails sent and scrub each one's secrets from its stored copy, in one UPDATE; drop their files."""
    if not emails:
        return
    # Scrubbed in the database, from each row's own list of secrets: a copy withdrawn meanwhile (no secrets
    # left, its text gone) is not written back, and the statement is the same whatever the batch holds.
    most = max(len(email.secrets) for email in emails)
    sent = [email.pk for email in emails]
    # A sent email is never sent again: its files (an invoice's PDF, made again from the invoice any time) go.
    OutboxAttachment.objects.filter(email_id__in=sent).delete()
    OutboxEmail.objects.filter(pk__in=sent).update(
        status=OutboxEmail.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        secrets=[],
        claimed_by="",
        claimed_at=None,
        **({field: _scrubbed(field, most) for field in ("body_text", "body_html")} if most else {}),
    )


def _scrubbed(field: str, secrets: int) -> Combinable:
    """The field with the row's first `secrets` secrets replaced (a missing one replaces nothing)."""
    body: Combinable = F(field)
    for index in range(secrets):
        secret = Coalesce(KT(f"secrets__{index}"), Value(""))
        body = Replace(body, secret, Value(SCRUBBED))  # type: ignore[arg-type]  # any expression will do
    return body


def _record_failure(email: OutboxEmail, error: Exception, *, under_way: bool) -> None:
    """Back off and retry, unless the email can never go (refused for good), or the server twice stopped answering
    while it was being sent: it may have arrived each time, and a slow server would get a copy at every retry."""
    email.attempts += 1
    now = timezone.now()
    said = _describe(error)
    status, next_attempt_at = email.retry_after_failure(now=now)
    if status == OutboxEmail.Status.CANCELLED:
        said = f"{EXPIRED_UNSENT} ({said})"
    elif _refused_for_good(error):
        status, next_attempt_at, said = OutboxEmail.Status.FAILED, now, f"{REFUSED_FOR_GOOD}: {said}"
    elif under_way and _server_unreachable(error):
        if email.last_error.startswith(MAYBE_SENT):
            status, next_attempt_at = OutboxEmail.Status.FAILED, now
            said = f"{MAYBE_SENT}, twice: not sent again unless staff send it again ({said})"
        else:
            said = f"{MAYBE_SENT}: {said}"
    # Not if withdrawn meanwhile: it stays cancelled.
    OutboxEmail.objects.filter(pk=email.pk, status=OutboxEmail.Status.SENDING).update(
        status=status,
        attempts=email.attempts,
        last_error=said[:2000],
        next_attempt_at=next_attempt_at,
        claimed_by="",
        claimed_at=None,
    )


def _release(emails: list[OutboxEmail], *, owner: str) -> None:
    """Hand back claimed emails not tried in this run: due as they were, no attempt counted."""
    if emails:
        OutboxEmail.objects.filter(
            pk__in=[email.pk for email in emails], claimed_by=owner, status=OutboxEmail.Status.SENDING
        ).update(status=OutboxEmail.Status.PENDING, claimed_by="", claimed_at=None)


def _server_unreachable(error: BaseException | None) -> bool:
    """Whether the error is the mail server's (down, silent, hanging up), not this one email's."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # an API backend may wrap the socket's error
        if isinstance(error, SERVER_ERRORS):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _refused_for_good(error: BaseException | None) -> bool:
    """Whether no retry can send the email: the server refused its recipient or its content with a permanent (5xx)
    reply, an email service refused its recipient, or the message can't be written at all (an invalid address).
    Not the server's refusal of the portal itself (its login, its sender address): fixed, those emails go."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            return all(code >= 500 for code, _reply in error.recipients.values())
        if isinstance(error, smtplib.SMTPDataError):
            return error.smtp_code >= 500
        if isinstance(error, AnymailRecipientsRefused):
            return True
        # A feature the email service lacks is the portal's settings' to fix (ANYMAIL's IGNORE_UNSUPPORTED_FEATURES).
        if isinstance(error, ValueError) and not isinstance(error, AnymailUnsupportedFeature):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _hang_up(mailer: BaseEmailBackend) -> None:
    # A server that stopped answering would not answer a polite QUIT either: drop the socket instead.
    if isinstance(mailer, SmtpBackend):
        if mailer.connection is not None:
            try:
                mailer.connection.close()
            except OSError:
                pass
            mailer.connection = None
        return
    try:
        mailer.close()
    except Exception as error:
        logger.warning("Closing the mail connection failed: %s", error)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
