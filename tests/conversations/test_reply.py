import html
import re

import pytest
from django.test import Client

from conversations.forms import MAX_ATTACHMENT_SIZE, MAX_REPLY_CHARACTERS
from conversations.models import Attachment, Channel, Conversation, Message
from portal_auth.models import AccessEvent
from tests.conversations.conftest import (
    CSV_BYTES,
    DOC_BYTES,
    EXE_BYTES,
    GIF_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    XML_BYTES,
    office_bytes,
    upload,
)
from tests.conversations.factories import ConversationSettingsFactory
from tests.refusals import USER_AGENT, assert_look_refused


def detail_url(conversation):
    return f"/{conversation.organisation.slug}/conversations/{conversation.pk}/"


def stored_files(settings):
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT) / "conversations"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_reply_is_saved_through_the_portal_channel(sign_in, conversation):
    before = conversation.last_activity_at

    response = sign_in(conversation.customer).post(detail_url(conversation), {"body": "Is breakfast included?"})

    assert response.status_code == 302 and response["Location"] == detail_url(conversation)
    message = conversation.messages.get()
    assert message.body == "Is breakfast included?"
    assert message.channel == Channel.PORTAL
    assert message.direction == Message.Direction.FROM_CUSTOMER and not message.internal
    conversation.refresh_from_db()
    assert conversation.last_activity_at > before


def test_reply_shows_on_the_page_after_sending(sign_in, conversation):
    client = sign_in(conversation.customer)

    response = client.post(detail_url(conversation), {"body": "Line one\r\nLine two"}, follow=True)

    html = response.content.decode()
    assert "Message sent." in html
    assert "Line one<br>Line two" in html
    assert conversation.messages.get().body == "Line one\nLine two"


def test_reply_with_every_accepted_kind_of_attachment(sign_in, conversation, settings):
    files = [
        upload("quote.pdf", PDF_BYTES),
        upload("photo.png", PNG_BYTES),
        upload("scan.jpg", JPEG_BYTES),
        upload("sheet.xlsx", office_bytes("xl")),
        upload("letter.docx", office_bytes("word")),
        upload("old.doc", DOC_BYTES),
    ]
    client = sign_in(conversation.customer)

    response = client.post(detail_url(conversation), {"body": "Documents attached", "attachments": files})

    assert response.status_code == 302
    attachments = Attachment.objects.filter(message__conversation=conversation).order_by("pk")
    assert [a.original_name for a in attachments] == [
        "quote.pdf",
        "photo.png",
        "scan.jpg",
        "sheet.xlsx",
        "letter.docx",
        "old.doc",
    ]
    assert [a.content_type for a in attachments][:3] == ["application/pdf", "image/png", "image/jpeg"]
    assert attachments[0].size == len(PDF_BYTES)
    assert len(stored_files(settings)) == 6
    # The stored name tells nothing about the customer's file name.
    assert all("quote" not in a.file.name for a in attachments)


def test_csv_gif_and_xml_are_accepted(sign_in, conversation):
    files = [upload("data.csv", CSV_BYTES), upload("anim.gif", GIF_BYTES), upload("order.xml", XML_BYTES)]

    response = sign_in(conversation.customer).post(detail_url(conversation), {"body": "Files", "attachments": files})

    assert response.status_code == 302
    kinds = set(Attachment.objects.values_list("content_type", flat=True))
    assert kinds == {"text/csv", "image/gif", "application/xml"}


def assert_nothing_saved(conversation, settings, *, last_activity_at):
    assert not Message.objects.filter(conversation=conversation).exists()
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []
    conversation.refresh_from_db()
    assert conversation.last_activity_at == last_activity_at


def test_seven_files_are_refused_and_nothing_is_saved(sign_in, conversation, settings):
    files = [upload(f"page{n}.pdf", PDF_BYTES) for n in range(7)]

    response = sign_in(conversation.customer).post(
        detail_url(conversation), {"body": "All my pages", "attachments": files}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "You chose 7 files; attach at most 6 to one message." in html
    assert "All my pages</textarea>" in html  # what the customer typed is kept
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_a_file_over_3_mb_is_refused_by_name_and_nothing_is_saved(sign_in, conversation, settings):
    too_big = upload("big-scan.pdf", PDF_BYTES + b"0" * (MAX_ATTACHMENT_SIZE + 1 - len(PDF_BYTES)))
    fine = upload("small.pdf", PDF_BYTES)
    assert too_big.size == 3 * 1024 * 1024 + 1

    response = sign_in(conversation.customer).post(
        detail_url(conversation), {"body": "Two files", "attachments": [fine, too_big]}
    )

    assert response.status_code == 400
    assert "“big-scan.pdf” is larger than 3 MB, the most one file may be." in response.content.decode()
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_a_file_of_exactly_3_mb_is_accepted(sign_in, conversation):
    exactly = upload("exact.pdf", PDF_BYTES + b"0" * (MAX_ATTACHMENT_SIZE - len(PDF_BYTES)))

    response = sign_in(conversation.customer).post(
        detail_url(conversation), {"body": "One file", "attachments": [exactly]}
    )

    assert response.status_code == 302
    assert Attachment.objects.get().size == MAX_ATTACHMENT_SIZE


def test_a_program_renamed_pdf_is_refused_and_nothing_is_saved(sign_in, conversation, settings):
    response = sign_in(conversation.customer).post(
        detail_url(conversation),
        {"body": "My invoice", "attachments": [upload("ok.png", PNG_BYTES), upload("invoice.pdf", EXE_BYTES)]},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "“invoice.pdf” is not a file we accept. Allowed: XLSX, CSV, DOC, DOCX, XML, PDF, GIF, JPG, PNG." in html
    assert "ok.png" not in html  # only the broken file is named
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_each_broken_file_is_named(sign_in, conversation):
    files = [upload("a.pdf", EXE_BYTES), upload("b.png", PDF_BYTES), upload("empty.csv", b"")]

    html = (
        sign_in(conversation.customer)
        .post(detail_url(conversation), {"body": "x", "attachments": files})
        .content.decode()
    )

    assert "“a.pdf” is not a file we accept" in html
    assert "“b.png” contains a PDF but its name says otherwise" in html
    assert "“empty.csv” is empty." in html


def test_10240_characters_are_accepted_counted_as_a_person_counts(sign_in, conversation):
    # 👍🏽 is two code points and four UTF-16 units, but one character to the person typing it.
    body = "👍🏽" * 5000 + "日本語" * 1000 + "é" * 240
    assert len(body) > MAX_REPLY_CHARACTERS

    response = sign_in(conversation.customer).post(detail_url(conversation), {"body": body})

    assert response.status_code == 302
    assert conversation.messages.get().body == body


def test_10241_characters_are_refused_and_nothing_is_saved(sign_in, conversation, settings):
    body = "a" * 10_000 + "ب" * 240 + "😀"

    response = sign_in(conversation.customer).post(
        detail_url(conversation), {"body": body, "attachments": [upload("ok.pdf", PDF_BYTES)]}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Your message is 10,241 characters long; it may be at most 10,240." in html
    assert "Nothing was sent." in html
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_a_few_characters_stacked_with_marks_are_refused_by_their_stored_length(sign_in, conversation, settings):
    """'Zalgo' text: 200 characters as a person counts them, each with 120 combining marks, 24,200 code points."""
    body = ("a" + "\u0301" * 120) * 200

    response = sign_in(conversation.customer).post(detail_url(conversation), {"body": body})

    assert response.status_code == 400
    assert "Your message is too long: its emoji and accented letters each count as several characters." in (
        html.unescape(response.content.decode())
    )
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_an_empty_reply_is_refused(sign_in, conversation):
    response = sign_in(conversation.customer).post(detail_url(conversation), {"body": "   "})

    assert response.status_code == 400
    assert "Write your message." in response.content.decode()
    assert not conversation.messages.exists()


def test_reply_to_another_customers_conversation_is_not_found(sign_in, conversation, other_customer):
    response = sign_in(other_customer).post(detail_url(conversation), {"body": "Let me in"})

    assert response.status_code == 404
    assert not conversation.messages.exists()


def test_reply_needs_a_csrf_token(sign_in, conversation):
    client = sign_in(conversation.customer, client=Client(enforce_csrf_checks=True))

    response = client.post(detail_url(conversation), {"body": "Forged"})

    assert response.status_code == 403
    assert not conversation.messages.exists()


def test_replies_are_rate_limited_per_customer(sign_in, conversation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "conversation_reply": "2/5m/key"}
    client = sign_in(conversation.customer)

    statuses = [client.post(detail_url(conversation), {"body": f"Reply {n}"}).status_code for n in range(3)]

    assert statuses == [302, 302, 429]
    assert conversation.messages.count() == 2


@pytest.fixture
def closed_conversation(conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    return conversation


def test_a_message_on_a_closed_conversation_reopens_it(sign_in, closed_conversation):
    response = sign_in(closed_conversation.customer).post(
        detail_url(closed_conversation), {"body": "It happened again"}, follow=True
    )

    assert "Message sent. The conversation is open again." in response.content.decode()
    closed_conversation.refresh_from_db()
    assert closed_conversation.status == Conversation.Status.OPEN
    assert closed_conversation.messages.get().channel == Channel.PORTAL


def test_a_forged_reopen_is_refused_when_reopening_is_off(sign_in, closed_conversation, settings):
    ConversationSettingsFactory(organisation=closed_conversation.organisation, customers_may_reopen=False)

    response = sign_in(closed_conversation.customer).post(
        detail_url(closed_conversation), {"body": "Reopen please", "attachments": [upload("a.pdf", PDF_BYTES)]}
    )

    assert response.status_code == 403
    assert "can't be reopened from the portal" in response.content.decode()
    closed_conversation.refresh_from_db()
    assert closed_conversation.status == Conversation.Status.CLOSED
    assert_nothing_saved(closed_conversation, settings, last_activity_at=closed_conversation.last_activity_at)


def test_a_failure_while_saving_leaves_nothing_behind(sign_in, conversation, settings, monkeypatch):
    calls = []

    def fail_on_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    original = Attachment.save
    monkeypatch.setattr(Attachment, "save", fail_on_second)
    client = sign_in(conversation.customer)
    client.raise_request_exception = True

    with pytest.raises(RuntimeError):
        client.post(
            detail_url(conversation),
            {"body": "Two files", "attachments": [upload("a.pdf", PDF_BYTES), upload("b.pdf", PDF_BYTES)]},
        )

    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_a_message_written_while_staff_closed_the_conversation_is_shown_back_to_copy(sign_in, conversation, settings):
    """Reopening is off; the page offered the form while the conversation was open; staff closed it meanwhile."""
    ConversationSettingsFactory(organisation=conversation.organisation, customers_may_reopen=False)
    client = sign_in(conversation.customer)
    page = client.get(detail_url(conversation)).content.decode()
    assert 'name="seen_open" value="1"' in page
    conversation.status = Conversation.Status.CLOSED
    conversation.save()

    response = client.post(detail_url(conversation), {"body": "Three paragraphs <b>typed</b>", "seen_open": "1"})

    assert response.status_code == 403
    shown = response.content.decode()
    assert "what you wrote is below, to copy" in shown
    assert '<textarea id="unsent" rows="6" readonly>Three paragraphs &lt;b&gt;typed&lt;/b&gt;</textarea>' in shown
    assert '<label for="unsent">Your message, not sent</label>' in shown
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED).exists()  # not a forged post
    assert not conversation.messages.filter(body__startswith="Three paragraphs").exists()


def test_a_message_sent_twice_is_one_message(sign_in, conversation):
    client = sign_in(conversation.customer)
    page = client.get(detail_url(conversation)).content.decode()
    token = re.search(r'name="sent_once_token" value="([^"]+)"', page).group(1)

    for _ in range(2):
        assert client.post(detail_url(conversation), {"body": "Thanks!", "sent_once_token": token}).status_code == 302

    assert conversation.messages.filter(body="Thanks!").count() == 1


def staff_meanwhile(monkeypatch, change):
    """Staff `change` the conversation after the page checked it, while the customer's post is still being handled."""
    from conversations import views

    real = views.conversation_reply

    def later(**kwargs):
        change(kwargs["conversation"])
        return real(**kwargs)

    monkeypatch.setattr(views, "conversation_reply", later)


def test_a_message_on_a_conversation_deleted_while_it_was_checked_is_404_and_writes_nothing(
    sign_in, conversation, monkeypatch, settings
):
    staff_meanwhile(monkeypatch, lambda c: Conversation.objects.filter(pk=c.pk).delete())

    response = sign_in(conversation.customer).post(
        detail_url(conversation),
        {"body": "Still there?", "attachments": [upload("a.pdf", PDF_BYTES)]},
        HTTP_USER_AGENT=USER_AGENT,
    )

    assert_look_refused(response, customer=conversation.customer, what=f"conversation {conversation.pk}")
    assert not Message.objects.exists() and not Attachment.objects.exists()
    assert stored_files(settings) == []


def test_a_message_on_a_conversation_given_to_another_customer_meanwhile_is_404_and_writes_nothing(
    sign_in, conversation, other_customer, monkeypatch, settings
):
    staff_meanwhile(monkeypatch, lambda c: Conversation.objects.filter(pk=c.pk).update(customer=other_customer))
    client = sign_in(conversation.customer)

    response = client.post(detail_url(conversation), {"body": "My card number"}, HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=conversation.customer, what=f"conversation {conversation.pk}")
    assert_nothing_saved(conversation, settings, last_activity_at=conversation.last_activity_at)


def test_a_message_is_emailed_to_the_organisations_support_address(
    sign_in, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(conversation.customer).post(
            detail_url(conversation),
            {"body": "Is <b>breakfast</b> included?", "attachments": [upload("a.pdf", PDF_BYTES)]},
        )

    [email] = mailoutbox
    customer = conversation.customer
    assert email.to == [conversation.organisation.support_email] == ["help@voyages.example"]
    assert email.subject == f"{customer.email} replied: {conversation.title}"
    assert f"replied in the conversation “{conversation.title}”" in email.body
    assert "Is <b>breakfast</b> included?" in email.body and "(1 attachment)" in email.body
    admin_link = f"https://portal.example.test/admin/conversations/conversation/{conversation.pk}/change/"
    assert admin_link in email.body
    [(html_body, _)] = email.alternatives
    assert "Is &lt;b&gt;breakfast&lt;/b&gt; included?" in html_body and f'href="{admin_link}"' in html_body


def test_a_message_reopening_a_closed_conversation_says_so_to_staff(
    sign_in, closed_conversation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(closed_conversation.customer).post(detail_url(closed_conversation), {"body": "It broke again"})

    [email] = mailoutbox
    assert email.subject == f"{closed_conversation.customer.email} reopened a conversation: {closed_conversation.title}"
    assert f"wrote in the closed conversation “{closed_conversation.title}”, which is open again" in email.body
    assert "It broke again" in email.body


def test_without_a_support_address_nobody_is_emailed(
    sign_in, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    conversation.organisation.support_email = ""
    conversation.organisation.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(conversation.customer).post(detail_url(conversation), {"body": "Hello?"})

    assert response.status_code == 302 and conversation.messages.count() == 1
    assert mailoutbox == []


def test_a_message_sent_twice_is_emailed_to_staff_once(
    sign_in, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(conversation.customer)
    token = re.search(r'name="sent_once_token" value="([^"]+)"', client.get(detail_url(conversation)).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            client.post(detail_url(conversation), {"body": "Thanks!", "sent_once_token": token.group(1)})

    assert len(mailoutbox) == 1


def test_a_refused_message_emails_nobody(
    sign_in, closed_conversation, settings, mailoutbox, django_capture_on_commit_callbacks
):
    ConversationSettingsFactory(organisation=closed_conversation.organisation, customers_may_reopen=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(closed_conversation.customer).post(detail_url(closed_conversation), {"body": "Hi"})

    assert response.status_code == 403
    assert mailoutbox == []
