"""Ticket attachments: stored under random names, downloaded under the customer's own."""

from urllib.parse import quote

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.tickets.conftest import PDF_BYTES
from tickets.models import TicketAttachment

# 90 CJK characters: 270 bytes in UTF-8, more than a file system takes in one file name.
LONG_CJK_NAME = "旅行保険の請求書" * 11 + "控え" + ".pdf"


def test_a_reply_attachment_named_past_255_bytes_is_saved_listed_and_downloaded_under_its_name(
    sign_in, customer, ticket, settings
):
    assert len(LONG_CJK_NAME) == 94 and len(LONG_CJK_NAME.encode()) > 255
    client = sign_in(customer)

    response = client.post(
        f"/{ticket.organisation.slug}/support/{ticket.number}/reply/",
        {"body": "The receipt.", "attachments": [SimpleUploadedFile(LONG_CJK_NAME, PDF_BYTES)]},
    )

    assert response.status_code == 302
    attachment = TicketAttachment.objects.get(message__ticket=ticket)
    assert attachment.original_name == LONG_CJK_NAME
    assert attachment.file.name.startswith(f"tickets/{ticket.organisation_id}/")
    assert not set(attachment.file.name) & set(LONG_CJK_NAME.removesuffix(".pdf"))
    assert attachment.file.read() == PDF_BYTES
    path = f"/{ticket.organisation.slug}/support/{ticket.number}/attachments/{attachment.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert f'href="{path}" download>{LONG_CJK_NAME}</a>' in page

    download = client.get(path)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == (
        f"attachment; filename=\"download.pdf\"; filename*=UTF-8''{quote(LONG_CJK_NAME, safe='')}"
    )


def test_a_name_longer_than_the_field_keeps_its_start_and_extension(sign_in, customer, ticket):
    name = "Rechnung für die Reise nach Lissabon " * 8 + ".xlsx.pdf"

    response = sign_in(customer).post(
        f"/{ticket.organisation.slug}/support/{ticket.number}/reply/",
        {"body": "See attached.", "attachments": [SimpleUploadedFile(name, PDF_BYTES)]},
    )

    assert response.status_code == 302
    stored = TicketAttachment.objects.get(message__ticket=ticket).original_name
    assert len(stored) == TicketAttachment._meta.get_field("original_name").max_length == 255
    assert stored.startswith("Rechnung für die Reise nach Lissabon") and stored.endswith(".pdf")


def test_an_attachment_stored_under_its_old_named_path_still_downloads(sign_in, customer, ticket, make_message):
    legacy_path = default_storage.save(f"tickets/{ticket.organisation_id}/3f2a/receipt.pdf", ContentFile(PDF_BYTES))
    attachment = TicketAttachment.objects.create(
        message=make_message(ticket=ticket),
        file=legacy_path,
        original_name="receipt.pdf",
        content_type="application/pdf",
        size=9,
    )

    download = sign_in(customer).get(
        f"/{ticket.organisation.slug}/support/{ticket.number}/attachments/{attachment.pk}/"
    )

    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
