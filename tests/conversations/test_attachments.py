from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conversations.models import Attachment
from tests.conversations.conftest import PDF_BYTES
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.factories import CustomerFactory, StaffUserFactory
from tests.refusals import USER_AGENT, assert_look_refused, look_alike, refused_looks


def make_attachment(message, name="itinerary.pdf", content=PDF_BYTES):
    attachment = Attachment(message=message, original_name=name, size=len(content), content_type="application/pdf")
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


def download_url(attachment):
    return f"/{attachment.message.conversation.organisation.slug}/conversations/attachments/{attachment.pk}/"


@pytest.fixture
def attachment(conversation):
    return make_attachment(MessageFactory(conversation=conversation))


def test_the_customer_downloads_their_attachment(sign_in, attachment):
    response = sign_in(attachment.message.conversation.customer).get(download_url(attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"] == 'attachment; filename="itinerary.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_another_customer_gets_not_found(sign_in, attachment, other_customer):
    response = sign_in(other_customer).get(download_url(attachment))

    assert response.status_code == 404


def test_a_customer_of_another_organisation_with_the_same_email_gets_nothing(sign_in, attachment, other_organisation):
    twin = CustomerFactory(organisation=other_organisation, email=attachment.message.conversation.customer.email)
    client = sign_in(twin)

    through_own_portal = client.get(f"/{other_organisation.slug}/conversations/attachments/{attachment.pk}/")
    through_theirs = client.get(download_url(attachment))

    assert through_own_portal.status_code == 404
    assert through_theirs.status_code == 302 and "/sign-in/" in through_theirs["Location"]


def test_anonymous_visitors_are_sent_to_sign_in(client, attachment):
    response = client.get(download_url(attachment))

    assert response.status_code == 302
    assert "/sign-in/?next=" in response["Location"]


def test_staff_download_any_attachment_of_the_organisation(admin_client, attachment):
    response = admin_client.get(download_url(attachment))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_staff_without_the_permission_are_refused(attachment):
    client = Client()
    client.force_login(StaffUserFactory(is_superuser=False))

    response = client.get(download_url(attachment))

    assert response.status_code == 302 and "/sign-in/" in response["Location"]


def test_staff_cannot_reach_an_attachment_through_another_organisations_address(
    admin_client, attachment, other_organisation
):
    response = admin_client.get(f"/{other_organisation.slug}/conversations/attachments/{attachment.pk}/")

    assert response.status_code == 404


def test_an_attachment_on_an_internal_note_never_reaches_the_customer(sign_in, conversation):
    note = make_attachment(MessageFactory(conversation=conversation, internal=True), name="staff-only.pdf")

    response = sign_in(conversation.customer).get(download_url(note))

    assert response.status_code == 404


def test_an_attachment_on_a_redacted_message_never_reaches_the_customer(sign_in, conversation, staff_user):
    redacted = make_attachment(MessageFactory(conversation=conversation, redacted_at=timezone.now()))

    response = sign_in(conversation.customer).get(download_url(redacted))
    page = sign_in(conversation.customer).get(f"/{conversation.organisation.slug}/conversations/{conversation.pk}/")

    assert response.status_code == 404
    assert "itinerary.pdf" not in page.content.decode()


def test_a_missing_file_is_not_found_rather_than_an_error(sign_in, attachment):
    attachment.file.delete(save=False)

    response = sign_in(attachment.message.conversation.customer).get(download_url(attachment))

    assert response.status_code == 404


def test_attachments_of_a_customers_other_conversation_stay_theirs(sign_in, customer, other_customer):
    theirs = make_attachment(MessageFactory(conversation=ConversationFactory(customer=other_customer)))
    ConversationFactory(customer=customer)

    response = sign_in(customer).get(download_url(theirs))

    assert response.status_code == 404


def test_a_look_at_another_customers_attachment_is_logged_without_its_name(sign_in, attachment, other_customer):
    response = sign_in(other_customer).get(download_url(attachment), HTTP_USER_AGENT=USER_AGENT)

    event = assert_look_refused(response, customer=other_customer, what=f"conversation attachment {attachment.pk}")
    assert "itinerary" not in event.reason


def test_a_missing_attachment_looks_like_anothers_and_is_logged_too(sign_in, attachment, other_customer):
    client = sign_in(other_customer)
    missing_pk = attachment.pk + 1000

    someone_elses = client.get(download_url(attachment), HTTP_USER_AGENT=USER_AGENT)
    missing = client.get(
        f"/{attachment.message.conversation.organisation.slug}/conversations/attachments/{missing_pk}/",
        HTTP_USER_AGENT=USER_AGENT,
    )

    assert_look_refused(missing, customer=other_customer, what=f"conversation attachment {missing_pk}")
    assert look_alike(missing, someone_elses)
    assert refused_looks() == 2


def test_the_customer_downloading_their_attachment_leaves_no_refused_look(sign_in, attachment):
    assert sign_in(attachment.message.conversation.customer).get(download_url(attachment)).status_code == 200
    assert refused_looks() == 0


def test_staff_downloads_leave_no_refused_look(admin_client, attachment):
    slug = attachment.message.conversation.organisation.slug
    assert admin_client.get(f"/{slug}/conversations/attachments/{attachment.pk + 1000}/").status_code == 404
    assert admin_client.get(download_url(attachment)).status_code == 200
    assert refused_looks() == 0


# 90 CJK characters: 270 bytes in UTF-8, more than a file system takes in one file name.
LONG_CJK_NAME = "旅行保険の請求書" * 11 + "控え" + ".pdf"


def test_an_attachment_named_past_255_bytes_is_saved_listed_and_downloaded_under_its_name(sign_in, conversation):
    client = sign_in(conversation.customer)
    detail = f"/{conversation.organisation.slug}/conversations/{conversation.pk}/"

    response = client.post(
        detail, {"body": "The receipt.", "attachments": [SimpleUploadedFile(LONG_CJK_NAME, PDF_BYTES)]}
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get(message__conversation=conversation)
    assert attachment.original_name == LONG_CJK_NAME
    assert not set(attachment.file.name) & set(LONG_CJK_NAME.removesuffix(".pdf"))
    assert attachment.file.name.endswith(".pdf")
    page = client.get(detail).content.decode()
    assert f'href="{download_url(attachment)}" download>{LONG_CJK_NAME}</a>' in page

    download = client.get(download_url(attachment))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == (
        f"attachment; filename=\"download.pdf\"; filename*=UTF-8''{quote(LONG_CJK_NAME, safe='')}"
    )


def test_a_name_longer_than_the_field_keeps_its_start_and_extension(sign_in, conversation):
    name = "Rechnung für die Reise nach Lissabon " * 7 + ".xlsx.pdf"
    assert len(name) == 268

    response = sign_in(conversation.customer).post(
        f"/{conversation.organisation.slug}/conversations/{conversation.pk}/",
        {"body": "See attached.", "attachments": [SimpleUploadedFile(name, PDF_BYTES)]},
    )

    assert response.status_code == 302
    stored = Attachment.objects.get(message__conversation=conversation).original_name
    assert len(stored) == 255
    assert stored.startswith("Rechnung für die Reise nach Lissabon") and stored.endswith(".pdf")
