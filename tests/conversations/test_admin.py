import html
import os
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from django.utils.html import escape

from conversations.models import Attachment, Channel, Conversation, ConversationSettings, Message
from conversations.services import conversation_reply
from outbox.models import OutboxEmail
from tests.conftest import admin_page_data, assert_link_signs_in_once, assert_plain_link, link_in
from tests.conversations.conftest import PDF_BYTES
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.factories import CustomerFactory


def change_url(conversation):
    return f"/admin/conversations/conversation/{conversation.pk}/change/"


def redact_url(message):
    return f"/admin/conversations/conversation/{message.conversation_id}/messages/{message.pk}/redact/"


def change_form(conversation, **overrides):
    """The change form as the admin posts it."""
    data = {
        "organisation": conversation.organisation.pk,
        "customer": conversation.customer.pk,
        "channel": conversation.channel,
        "status": conversation.status,
        "subject": conversation.subject,
        "attributes": "{}",
        "reply": "",
        "reply_kind": "public",
    }
    data.update(overrides)
    return data


def test_conversation_page_shows_the_whole_timeline_to_staff(admin_client, conversation):
    MessageFactory(conversation=conversation, body="Customer question")
    MessageFactory(conversation=conversation, body="Staff-only remark", internal=True)

    response = admin_client.get(change_url(conversation))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Customer question" in html and "Staff-only remark" in html
    assert "Public reply: shown in the customer" in html and "Internal note: seen by staff only" in html


def test_public_reply_emails_the_customer_with_text_and_link(
    admin_client, conversation, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    staff_user.first_name, staff_user.last_name = "Sam", "Rivera"
    staff_user.save()
    conversation.last_activity_at = timezone.now() - timedelta(days=1)
    conversation.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            change_url(conversation), change_form(conversation, reply="Your room is upgraded.\nEnjoy!")
        )

    assert response.status_code == 302
    message = conversation.messages.get()
    assert message.body == "Your room is upgraded.\nEnjoy!"
    assert message.direction == Message.Direction.FROM_STAFF and not message.internal
    assert message.channel == Channel.PORTAL and message.staff_author == staff_user
    assert message.author_name == "Sam Rivera"
    conversation.refresh_from_db()
    assert conversation.last_activity_at > timezone.now() - timedelta(minutes=1)
    [email] = mailoutbox
    assert email.to == [conversation.customer.email]
    assert conversation.subject in email.subject
    assert "Your room is upgraded.\nEnjoy!" in email.body
    link = link_in(email.body, f"/conversations/{conversation.pk}/")
    assert link == f"https://portal.example.test/{conversation.organisation.slug}/conversations/{conversation.pk}/"
    html = email.alternatives[0].content
    assert "Your room is upgraded.<br>Enjoy!" in html and link in html


def test_a_public_reply_links_to_the_conversation_signing_in_once_where_the_organisation_allows(
    admin_client, conversation, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    conversation.organisation.notification_links_sign_in = True
    conversation.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change_url(conversation), change_form(conversation, reply="Your room is upgraded."))

    [email] = mailoutbox
    lands_on = f"/{conversation.organisation.slug}/conversations/{conversation.pk}/"
    assert_link_signs_in_once(email, customer=conversation.customer, lands_on=lands_on, link_path="/link/")


def test_without_the_setting_a_public_reply_links_to_the_conversation_behind_sign_in(
    admin_client, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change_url(conversation), change_form(conversation, reply="Your room is upgraded."))

    assert_plain_link(mailoutbox[0], path=f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")


def test_the_email_keeps_the_text_as_written(
    admin_client, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change_url(conversation), change_form(conversation, reply="It's <b>fine</b> & done"))

    [email] = mailoutbox
    assert "It's <b>fine</b> & done" in email.body
    assert "It&#x27;s &lt;b&gt;fine&lt;/b&gt; &amp; done" in email.alternatives[0].content


def test_the_same_page_saved_twice_sends_its_reply_once(
    admin_client, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    shown = admin_page_data(admin_client.get(change_url(conversation)))
    data = {**shown, "reply": "We found it.", "reply_kind": "public"}

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(change_url(conversation), data)
        again = admin_client.post(change_url(conversation), data, follow=True)

    assert first.status_code == 302
    assert "This page&#x27;s reply was sent already, so it was not sent again." in again.content.decode()
    assert conversation.messages.filter(body="We found it.").count() == 1
    assert [email.to for email in mailoutbox] == [[conversation.customer.email]]
    # A page shown afresh is a new sending: the same words from it are a second reply.
    shown = admin_page_data(admin_client.get(change_url(conversation)))
    admin_client.post(change_url(conversation), {**shown, "reply": "We found it.", "reply_kind": "public"})
    assert conversation.messages.filter(body="We found it.").count() == 2


def test_staff_reply_then_reaches_the_customers_portal(admin_client, sign_in, conversation):
    admin_client.post(change_url(conversation), change_form(conversation, reply="We have booked the taxi."))

    html = sign_in(conversation.customer).get(f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")

    assert "We have booked the taxi." in html.content.decode()


def test_internal_note_stays_with_staff(
    admin_client, sign_in, conversation, mailoutbox, django_capture_on_commit_callbacks
):
    before = conversation.last_activity_at

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            change_url(conversation),
            change_form(conversation, reply="Refund approved by finance", reply_kind="internal"),
        )

    note = conversation.messages.get()
    assert note.internal and note.body == "Refund approved by finance"
    assert mailoutbox == []
    conversation.refresh_from_db()
    assert conversation.last_activity_at == before  # the customer's list must not hint that something happened
    page = sign_in(conversation.customer).get(f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")
    assert "Refund approved" not in page.content.decode()


def test_saving_without_a_reply_adds_no_message(admin_client, conversation, mailoutbox):
    response = admin_client.post(change_url(conversation), change_form(conversation, status="closed"))

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert not conversation.messages.exists() and mailoutbox == []


def test_redacting_a_message_removes_its_text_and_attachments_for_good(
    admin_client, sign_in, conversation, staff_user, django_capture_on_commit_callbacks
):
    MessageFactory(conversation=conversation, body="Hello")
    secret = MessageFactory(conversation=conversation, body="My passport number is X1234567")
    attachment = Attachment(
        message=secret, original_name="passport.pdf", size=len(PDF_BYTES), content_type="application/pdf"
    )
    attachment.file.save("passport.pdf", ContentFile(PDF_BYTES), save=False)
    attachment.save()
    stored = attachment.file.path

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(redact_url(secret))

    assert response.status_code == 302
    assert response["Location"] == f"{change_url(conversation)}#message-{secret.pk}"
    secret.refresh_from_db()
    assert secret.body == "" and secret.redacted_at is not None and secret.redacted_by == staff_user
    assert not Attachment.objects.exists()
    assert conversation.messages.get(body="Hello")
    html = sign_in(conversation.customer).get(f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")
    assert "This message was redacted." in html.content.decode() and "X1234567" not in html.content.decode()
    staff_view = admin_client.get(change_url(conversation)).content.decode()
    assert "X1234567" not in staff_view and "Redacted on" in staff_view
    assert not os.path.exists(stored)


def test_the_redact_link_opens_a_page_listing_what_goes_and_removes_nothing(admin_client, conversation):
    kept = MessageFactory(conversation=conversation, body="Hello")
    secret = MessageFactory(conversation=conversation, body="My passport number is X1234567")
    Attachment.objects.create(message=secret, original_name="passport.pdf", size=2048, content_type="application/pdf")

    timeline = admin_client.get(change_url(conversation)).content.decode()
    assert f'<a href="{redact_url(secret)}">Redact message 2…</a>' in timeline
    assert f'<a href="{redact_url(kept)}">Redact message 1…</a>' in timeline
    page = admin_client.get(redact_url(secret))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Redact this message?" in html and "X1234567" in html and "passport.pdf (2.0\xa0KB)" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'value="Yes, redact it"' in html
    assert f'href="{change_url(conversation)}" class="button cancel-link">No, keep it</a>' in html
    secret.refresh_from_db()
    assert not secret.is_redacted and secret.body == "My passport number is X1234567"
    assert Attachment.objects.count() == 1


def test_redacting_needs_permission_to_change_the_conversation(client, conversation):
    from django.contrib.auth.models import Permission

    from tests.factories import StaffUserFactory

    secret = MessageFactory(conversation=conversation, body="X1234567")
    viewer = StaffUserFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client.force_login(viewer)

    page = client.get(change_url(conversation)).content.decode()
    assert "X1234567" in page
    assert "Redact message" not in page and "Write a reply" not in page
    assert client.post(redact_url(secret)).status_code == 403
    secret.refresh_from_db()
    assert not secret.is_redacted


def test_a_message_is_redacted_only_through_its_own_conversation(admin_client, conversation, make_conversation):
    other = make_conversation(customer=conversation.customer)
    secret = MessageFactory(conversation=other, body="X1234567")

    response = admin_client.post(f"/admin/conversations/conversation/{conversation.pk}/messages/{secret.pk}/redact/")

    assert response.status_code == 404
    secret.refresh_from_db()
    assert not secret.is_redacted


def test_the_reply_box_is_labelled_and_internal_notes_are_marked_in_the_timeline(admin_client, conversation):
    MessageFactory(conversation=conversation, body="Where is my bag?")
    MessageFactory(conversation=conversation, body="Fraud check", internal=True, direction=Message.Direction.FROM_STAFF)

    html = admin_client.get(change_url(conversation)).content.decode()

    assert '<label for="id_reply">Write a reply:</label>' in html
    assert '<fieldset><legend class="required">Send as:</legend>' in html
    assert html.count('type="radio" name="reply_kind"') == 2
    notes = re.findall(r'<li id="message-\d+" class="([^"]+)">.*?<span class="badge">([^<]+)</span>', html, re.S)
    assert notes == [("public", "From the customer"), ("internal", "Internal note")]
    assert 'name="messages-' not in html  # no checkbox without a name left in the timeline


def test_a_customer_of_another_organisation_cannot_be_given_the_conversation(
    admin_client, conversation, other_organisation
):
    stranger = CustomerFactory(organisation=other_organisation)

    response = admin_client.post(change_url(conversation), change_form(conversation, customer=stranger.pk))

    assert response.status_code == 200
    assert "This customer belongs to another organisation." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.customer != stranger


def test_staff_create_a_conversation_with_a_first_reply(
    admin_client, customer, mailoutbox, django_capture_on_commit_callbacks
):
    data = {
        "organisation": customer.organisation.pk,
        "customer": customer.pk,
        "channel": Channel.EMAIL,
        "status": "open",
        "subject": "Your visa",
        "attributes": '{"order_number": "A-1"}',
        "reply": "Here is what you need.",
        "reply_kind": "public",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/conversations/conversation/add/", data)

    assert response.status_code == 302
    conversation = Conversation.objects.get(subject="Your visa")
    assert conversation.attributes == {"order_number": "A-1"}
    assert conversation.messages.get().body == "Here is what you need."
    assert len(mailoutbox) == 1


def test_attributes_must_be_an_object(admin_client, conversation):
    response = admin_client.post(change_url(conversation), change_form(conversation, attributes='["a"]'))

    assert response.status_code == 200
    assert "Write the attributes as an object" in response.content.decode()


@pytest.mark.parametrize(
    "attributes",
    [
        '{"note": "a\\u0000b"}',
        '{"a\\u0000": 1}',
        '{"deep": [{"x": ["\\u0000"]}]}',
        '{"half": "\\ud800"}',
        '{"n": 1e999}',
        '{"n": NaN}',
        '{"n": [-Infinity]}',
    ],
)
def test_attributes_the_database_cannot_store_are_a_form_error(admin_client, conversation, attributes):
    conversation.attributes = {"order_number": "A-1"}
    conversation.save()

    response = admin_client.post(change_url(conversation), change_form(conversation, attributes=attributes))

    assert response.status_code == 200
    page = response.content.decode()
    assert "contain the NUL character" in page
    assert escape(attributes) in page  # shown back as typed
    assert response.context["adminform"].form.errors["attributes"]
    conversation.refresh_from_db()
    assert conversation.attributes == {"order_number": "A-1"}


def test_attributes_with_any_other_text_or_number_are_saved(admin_client, conversation):
    attributes = '{"név": "\\u0001 😀 \\ud83d\\ude00", "n": 2.5e-300, "deep": ' + "[" * 500 + "]" * 500 + "}"

    response = admin_client.post(change_url(conversation), change_form(conversation, attributes=attributes))

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.attributes["név"] == "\x01 😀 😀" and conversation.attributes["n"] == 2.5e-300


def test_conversation_settings_with_displayed_attributes(admin_client, organisation):
    data = {
        "organisation": organisation.pk,
        "displayed_attributes-TOTAL_FORMS": "2",
        "displayed_attributes-INITIAL_FORMS": "0",
        "displayed_attributes-MIN_NUM_FORMS": "0",
        "displayed_attributes-MAX_NUM_FORMS": "1000",
        "displayed_attributes-0-position": "1",
        "displayed_attributes-0-key": "order_number",
        "displayed_attributes-0-display_name": "Order",
        "displayed_attributes-1-position": "2",
        "displayed_attributes-1-key": "tier",
        "displayed_attributes-1-display_name": "Loyalty tier",
    }

    response = admin_client.post("/admin/conversations/conversationsettings/add/", data)

    assert response.status_code == 302
    settings = ConversationSettings.objects.get(organisation=organisation)
    assert settings.customers_may_reopen is False  # an unticked box in the form
    assert [(a.key, a.display_name) for a in settings.displayed_attributes.all()] == [
        ("order_number", "Order"),
        ("tier", "Loyalty tier"),
    ]


def test_reopening_is_allowed_by_default(organisation):
    assert ConversationSettings(organisation=organisation).customers_may_reopen is True


def test_admin_lists_conversations(admin_client, customer):
    ConversationFactory.create_batch(3, customer=customer)

    response = admin_client.get("/admin/conversations/conversation/")

    assert response.status_code == 200
    assert customer.email in response.content.decode()


def test_deleting_conversations_deletes_their_attachment_files(
    admin_client, conversation, customer, django_capture_on_commit_callbacks
):
    kept = ConversationFactory(customer=customer)
    paths = []
    for owner in (conversation, kept):
        attachment = Attachment(
            message=MessageFactory(conversation=owner), original_name="a.pdf", size=1, content_type="application/pdf"
        )
        attachment.file.save("a.pdf", ContentFile(PDF_BYTES), save=False)
        attachment.save()
        paths.append(attachment.file.path)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/conversations/conversation/",
            {"action": "delete_selected", "_selected_action": [conversation.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not os.path.exists(paths[0]) and os.path.exists(paths[1])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/conversations/conversation/{kept.pk}/delete/", {"post": "yes"})
    assert not os.path.exists(paths[1]) and not Conversation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_redacting_a_reply_cancels_its_email_still_waiting_for_the_mail_server(
    admin_client, conversation, smtp_server, capsys
):
    smtp_server.refuse()
    admin_client.post(change_url(conversation), change_form(conversation, reply="Your door code is 4417."))
    admin_client.post(change_url(conversation), change_form(conversation, reply="Check-in is from 3 pm."))
    assert OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).count() == 2
    assert smtp_server.messages == []

    response = admin_client.post(redact_url(conversation.messages.get(body="Your door code is 4417.")))

    assert response.status_code == 302
    smtp_server.refuse(False)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        call_command("send_outbox")
    assert "Sent 1, failed 0, still waiting 0." in capsys.readouterr().out
    [delivered] = smtp_server.messages
    assert "Check-in is from 3 pm." in delivered.get_body(preferencelist=("plain",)).get_content()
    cancelled = OutboxEmail.objects.get(status=OutboxEmail.Status.CANCELLED)
    assert "4417" not in cancelled.body_text + cancelled.body_html
    assert not OutboxEmail.objects.filter(body_text__contains="4417").exists()
    assert not OutboxEmail.objects.filter(body_html__contains="4417").exists()


@pytest.mark.django_db(transaction=True)
def test_redacting_a_reply_already_emailed_keeps_it_sent_but_forgets_its_text(admin_client, conversation, smtp_server):
    admin_client.post(change_url(conversation), change_form(conversation, reply="See you at 9."))
    assert len(smtp_server.messages) == 1

    admin_client.post(redact_url(conversation.messages.get()))

    assert conversation.messages.get().is_redacted
    email = OutboxEmail.objects.get()
    assert email.status == OutboxEmail.Status.SENT
    # Staff who may read the outbox no longer read what was redacted.
    assert "See you at 9." not in email.body_text + email.body_html
    assert "withdrawn" in email.body_text
    call_command("send_outbox")
    assert len(smtp_server.messages) == 1


def test_a_conversation_the_customer_reopened_while_staff_had_it_open_stays_open(admin_client, conversation):
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    page = admin_client.get(change_url(conversation)).content.decode()
    shown = html.unescape(re.search(r'name="shown" value="([^"]*)"', page).group(1))
    conversation_reply(conversation=conversation, customer=conversation.customer, body="One more thing", uploads=())

    response = admin_client.post(
        change_url(conversation), change_form(conversation, status="closed", shown=shown, subject="Renamed")
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.status, conversation.subject) == (Conversation.Status.OPEN, "Renamed")


def test_a_reply_to_a_deactivated_customer_says_it_was_not_emailed(admin_client, conversation, mailoutbox):
    conversation.customer.is_active = False
    conversation.customer.save()

    response = admin_client.post(
        change_url(conversation), change_form(conversation, reply="We refunded you."), follow=True
    )

    assert "Reply added, not emailed: the customer is deactivated." in html.unescape(response.content.decode())
    assert mailoutbox == []


def test_a_conversation_stays_in_its_organisation(admin_client, conversation, other_organisation):
    page = admin_client.get(change_url(conversation))

    response = admin_client.post(
        change_url(conversation), {**admin_page_data(page), "organisation": other_organisation.pk}
    )

    assert 'name="organisation"' not in page.content.decode()
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.organisation != other_organisation
