"""Files sent with an email (an invoice's PDF): stored beside it in the same transaction, sent with every attempt,
gone when what caused the email is withdrawn."""

import pytest
from django.db import transaction

from outbox.models import OutboxAttachment, OutboxEmail
from outbox.services import EmailAttachment, EmailDraft, email_enqueue, emails_enqueue, outbox_withdraw
from tests.factories import CustomerFactory

TEMPLATE = "portal_auth/emails/password_changed"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3 not really a PDF\n%%EOF\n"


def _context(organisation):
    return {"customer": CustomerFactory.build(organisation=organisation, name="Ana"), "sign_in_link": "https://x/"}


@pytest.mark.django_db(transaction=True)
def test_an_attachment_is_sent_with_its_email_byte_for_byte(smtp_server, organisation):
    with transaction.atomic():
        email_enqueue(
            organisation=organisation,
            to="ana@example.com",
            template=TEMPLATE,
            context=_context(organisation),
            attachments=[EmailAttachment("invoice-000001.pdf", PDF, "application/pdf")],
        )
    [message] = smtp_server.messages
    [part] = [p for p in message.walk() if p.get_filename()]
    assert (part.get_filename(), part.get_content_type()) == ("invoice-000001.pdf", "application/pdf")
    assert part.get_payload(decode=True) == PDF
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.SENT
    # Sent, it is never sent again: its file is not kept.
    assert not OutboxAttachment.objects.exists()


def test_attachments_are_rolled_back_with_the_action(organisation):
    with pytest.raises(RuntimeError), transaction.atomic():
        email_enqueue(
            organisation=organisation,
            to="ana@example.com",
            template=TEMPLATE,
            context=_context(organisation),
            attachments=[EmailAttachment("a.pdf", PDF, "application/pdf")],
        )
        raise RuntimeError("the action failed")
    assert not OutboxAttachment.objects.exists()


def test_many_emails_take_one_insert_for_all_their_attachments(organisation, django_assert_num_queries):
    drafts = [
        EmailDraft(
            to=f"c{i}@example.com",
            context=_context(organisation),
            attachments=(EmailAttachment(f"{i}.pdf", PDF, "application/pdf"),),
        )
        for i in range(5)
    ]
    with django_assert_num_queries(2):  # the emails, then their attachments (delivery waits for the commit)
        emails_enqueue(template=TEMPLATE, organisation=organisation, drafts=drafts)
    assert sorted(OutboxAttachment.objects.values_list("filename", flat=True)) == [f"{i}.pdf" for i in range(5)]


def test_withdrawing_an_email_removes_its_attachments(organisation):
    email_enqueue(
        organisation=organisation,
        to="ana@example.com",
        template=TEMPLATE,
        context=_context(organisation),
        reference="billing.invoice:1",
        attachments=[EmailAttachment("a.pdf", PDF, "application/pdf")],
    )
    outbox_withdraw(reference="billing.invoice:1")
    assert not OutboxAttachment.objects.exists()
