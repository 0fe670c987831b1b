import os
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.models import BookingDocument
from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused, look_alike, refused_looks

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def upload_url(booking):
    return reverse(
        "bookings:document_upload", kwargs={"org": booking.organisation.slug, "reference": booking.reference}
    )


def download_url(document):
    booking = document.booking
    return reverse(
        "bookings:document_download",
        kwargs={"org": booking.organisation.slug, "reference": booking.reference, "pk": document.pk},
    )


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files] if os.path.exists(root) else []


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("passport.pdf", PDF_BYTES, "application/pdf"),
        ("photo.JPG", JPEG_BYTES, "image/jpeg"),
        ("scan.png", PNG_BYTES, "image/png"),
    ],
)
def test_customer_uploads_a_document(sign_in, customer, booking, settings, name, content, content_type):
    client = sign_in(customer)

    response = client.post(upload_url(booking), {"file": SimpleUploadedFile(name, content, "application/octet-stream")})

    assert response.status_code == 302
    document = BookingDocument.objects.get()
    assert (document.booking, document.uploaded_by) == (booking, customer)
    assert (document.original_name, document.content_type, document.size) == (name, content_type, len(content))
    assert name not in document.file.name  # stored under a random name
    assert document.file.name.startswith("booking-documents/")
    assert len(stored_files(settings)) == 1
    page = client.get(response.url).content.decode()
    assert f"“{name}” is uploaded." in page
    assert download_url(document) in page


def test_an_executable_named_pdf_is_refused_and_nothing_is_saved(sign_in, customer, booking, settings):
    response = sign_in(customer).post(upload_url(booking), {"file": SimpleUploadedFile("passport.pdf", EXE_BYTES)})
    assert response.status_code == 400
    assert "“passport.pdf” is not a file we accept. Allowed: PDF, JPG, PNG." in response.content.decode()
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_pdf_named_otherwise_is_refused(sign_in, customer, booking):
    response = sign_in(customer).post(upload_url(booking), {"file": SimpleUploadedFile("form.png", PDF_BYTES)})
    assert response.status_code == 400
    assert "Rename it to end in .pdf" in response.content.decode()
    assert not BookingDocument.objects.exists()


def test_ten_megabytes_is_accepted_but_one_byte_more_is_refused(sign_in, customer, booking, settings):
    limit = 10 * 1024 * 1024
    client = sign_in(customer)
    body = PDF_BYTES + b"0" * (limit - len(PDF_BYTES))

    too_big = client.post(upload_url(booking), {"file": SimpleUploadedFile("big.pdf", body + b"0")})
    assert too_big.status_code == 400
    assert "is larger than 10 MB, the most one file may be." in too_big.content.decode()
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []

    assert client.post(upload_url(booking), {"file": SimpleUploadedFile("big.pdf", body)}).status_code == 302
    assert BookingDocument.objects.get().size == limit


def test_an_upload_without_a_file_is_refused(sign_in, customer, booking):
    response = sign_in(customer).post(upload_url(booking), {})
    assert response.status_code == 400
    assert "Choose a file to upload." in response.content.decode()


def test_a_non_attendee_cannot_upload(sign_in, organisation, booking, settings):
    stranger = CustomerFactory(organisation=organisation)
    response = sign_in(stranger).post(upload_url(booking), {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert response.status_code == 403
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []


def test_uploads_are_rate_limited(sign_in, customer, booking, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "booking_document_upload": "2/h/key"}
    client = sign_in(customer)
    for _ in range(2):
        assert client.post(upload_url(booking), {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)}).status_code == 302
    response = client.post(upload_url(booking), {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert response.status_code == 429
    assert BookingDocument.objects.count() == 2


def test_uploading_needs_a_csrf_token(sign_in, customer, booking):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    response = client.post(upload_url(booking), {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert response.status_code == 403
    assert not BookingDocument.objects.exists()


@pytest.fixture
def document(sign_in, customer, booking):
    sign_in(customer).post(upload_url(booking), {"file": SimpleUploadedFile("passport.pdf", PDF_BYTES)})
    return BookingDocument.objects.get()


def test_the_uploader_downloads_the_document_as_an_attachment(sign_in, customer, document):
    response = sign_in(customer).get(download_url(document))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="passport.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_a_missing_file_is_not_found_rather_than_an_error(sign_in, admin_client, customer, document):
    document.file.delete(save=False)

    assert sign_in(customer).get(download_url(document)).status_code == 404
    assert admin_client.get(reverse("admin:bookings_bookingdocument_download", args=[document.pk])).status_code == 404


def test_another_attendee_of_the_same_booking_gets_404(sign_in, organisation, booking, document):
    fellow = CustomerFactory(organisation=organisation, email="other.traveller@example.com")
    client = sign_in(fellow)
    assert client.get(download_url(document)).status_code == 404
    assert (
        "passport.pdf"
        not in client.get(
            reverse("bookings:detail", kwargs={"org": organisation.slug, "reference": document.booking.reference})
        ).content.decode()
    )


def test_the_uploader_loses_access_when_no_longer_an_attendee(sign_in, customer, document):
    document.booking.attendees.filter(email=customer.email).delete()
    assert sign_in(customer).get(download_url(document)).status_code == 404


def test_anonymous_download_goes_to_sign_in(client, document):
    response = client.get(download_url(document))
    assert response.status_code == 302
    assert "/sign-in/" in response.url


def test_a_customer_of_another_organisation_gets_404(sign_in, other_organisation, customer, document):
    twin = CustomerFactory(organisation=other_organisation, email=customer.email)
    url = reverse(
        "bookings:document_download",
        kwargs={"org": other_organisation.slug, "reference": document.booking.reference, "pk": document.pk},
    )
    assert sign_in(twin).get(url).status_code == 404


def test_staff_download_the_document_from_admin(admin_client, document):
    url = reverse("admin:bookings_bookingdocument_download", args=[document.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"] == 'attachment; filename="passport.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_staff_without_view_permission_cannot_download(client, document):
    from django.contrib.auth import get_user_model

    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:bookings_bookingdocument_download", args=[document.pk])).status_code == 403


def test_a_customer_session_cannot_download_from_admin(sign_in, customer, document):
    response = sign_in(customer).get(reverse("admin:bookings_bookingdocument_download", args=[document.pk]))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_deleting_a_document_in_admin_deletes_its_file(
    admin_client, document, settings, django_capture_on_commit_callbacks
):
    assert len(stored_files(settings)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:bookings_bookingdocument_delete", args=[document.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []


def test_deleting_a_booking_in_admin_deletes_its_documents_files(
    admin_client, document, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:bookings_booking_delete", args=[document.booking.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_failed_database_write_leaves_no_file(customer, booking, settings, monkeypatch):
    from bookings.services import booking_document_upload
    from portal_core.uploads import PDF

    def broken_save(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(BookingDocument, "save", broken_save)
    with pytest.raises(RuntimeError):
        booking_document_upload(
            booking=booking, customer=customer, file=SimpleUploadedFile("a.pdf", PDF_BYTES), kind=PDF
        )
    assert stored_files(settings) == []


@pytest.mark.parametrize("model", ["booking", "bookingdocument"])
def test_deleting_selected_rows_in_admin_deletes_their_files(
    admin_client, document, settings, django_capture_on_commit_callbacks, model
):
    pk = document.booking.pk if model == "booking" else document.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse(f"admin:bookings_{model}_changelist"),
            {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert not BookingDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_non_attendees_upload_is_a_refused_look(sign_in, organisation, booking, settings):
    stranger = CustomerFactory(organisation=organisation)

    response = sign_in(stranger).post(
        upload_url(booking), {"file": SimpleUploadedFile("a.pdf", PDF_BYTES)}, HTTP_USER_AGENT=USER_AGENT
    )

    assert_look_refused(response, customer=stranger, what=f"booking {booking.reference[:6]}…", status=403)
    assert not BookingDocument.objects.exists()


def test_a_look_at_another_attendees_document_is_logged_without_its_name(sign_in, organisation, document):
    fellow = CustomerFactory(organisation=organisation, email="other.traveller@example.com")

    response = sign_in(fellow).get(download_url(document), HTTP_USER_AGENT=USER_AGENT)

    event = assert_look_refused(response, customer=fellow, what=f"booking document {document.pk}")
    assert "passport" not in event.reason


def test_a_missing_document_looks_like_anothers_and_is_logged_too(sign_in, organisation, document):
    client = sign_in(CustomerFactory(organisation=organisation, email="other.traveller@example.com"))
    booking = document.booking
    missing_url = reverse(
        "bookings:document_download",
        kwargs={"org": organisation.slug, "reference": booking.reference, "pk": document.pk + 1000},
    )

    someone_elses = client.get(download_url(document), HTTP_USER_AGENT=USER_AGENT)
    missing = client.get(missing_url, HTTP_USER_AGENT=USER_AGENT)

    assert missing.status_code == someone_elses.status_code == 404
    assert look_alike(missing, someone_elses)
    assert refused_looks() == 2


def test_the_uploader_downloading_leaves_no_refused_look(sign_in, customer, document):
    assert sign_in(customer).get(download_url(document)).status_code == 200
    assert refused_looks() == 0


def test_a_document_address_with_a_nul_byte_in_its_reference_is_not_an_error(sign_in, customer, document):
    response = sign_in(customer).get(f"/{customer.organisation.slug}/bookings/ab%00c/documents/{document.pk}/")

    assert response.status_code in (400, 404)  # 400 where a guard on the whole request answers first


# 90 CJK characters: 270 bytes in UTF-8, more than a file system takes in one file name.
LONG_CJK_NAME = "旅行保険の請求書" * 11 + "控え" + ".pdf"


def test_a_document_named_past_255_bytes_is_saved_listed_and_downloaded_under_its_name(
    sign_in, customer, booking, settings
):
    client = sign_in(customer)

    response = client.post(upload_url(booking), {"file": SimpleUploadedFile(LONG_CJK_NAME, PDF_BYTES)})

    assert response.status_code == 302
    document = BookingDocument.objects.get()
    assert document.original_name == LONG_CJK_NAME
    assert not set(document.file.name) & set(LONG_CJK_NAME.removesuffix(".pdf"))
    assert len(stored_files(settings)) == 1
    page = client.get(response.url).content.decode()
    assert f'href="{download_url(document)}" download>{LONG_CJK_NAME}</a>' in page

    download = client.get(download_url(document))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Disposition"] == (
        f"attachment; filename=\"download.pdf\"; filename*=UTF-8''{quote(LONG_CJK_NAME, safe='')}"
    )


def test_a_name_longer_than_the_field_keeps_its_start_and_extension(sign_in, customer, booking):
    name = "Reisepass von Maria Lopes, Seite " * 9 + ".jpeg.pdf"

    response = sign_in(customer).post(upload_url(booking), {"file": SimpleUploadedFile(name, PDF_BYTES)})

    assert response.status_code == 302
    stored = BookingDocument.objects.get().original_name
    assert len(stored) == BookingDocument._meta.get_field("original_name").max_length == 255
    assert stored.startswith("Reisepass von Maria Lopes") and stored.endswith(".pdf")


def _statements_reading(queries, table: str) -> list[str]:
    """The statements that read `table` itself (not in a subquery of another's)."""
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'SELECT "{table}".')]


def test_the_page_reads_documents_only_once_the_customer_has_uploaded_one(sign_in, customer, booking):
    page_url = reverse("bookings:detail", kwargs={"org": booking.organisation.slug, "reference": booking.reference})
    client = sign_in(customer)
    # Another attendee's file on the same booking is theirs alone: it neither shows nor makes the page ask.
    other = CustomerFactory(organisation=booking.organisation, email="other.traveller@example.com")
    BookingDocument.objects.create(
        booking=booking, uploaded_by=other, file="bookings/x.pdf", original_name="visa.pdf", size=10
    )
    with CaptureQueriesContext(connection) as before:
        page = client.get(page_url).content.decode()
    assert "visa.pdf" not in page
    assert not _statements_reading(before, "bookings_bookingdocument")

    client.post(upload_url(booking), {"file": SimpleUploadedFile("passport.pdf", PDF_BYTES)})
    with CaptureQueriesContext(connection) as after:
        page = client.get(page_url).content.decode()
    assert "passport.pdf" in page and "visa.pdf" not in page
    assert len(_statements_reading(after, "bookings_bookingdocument")) == 1
