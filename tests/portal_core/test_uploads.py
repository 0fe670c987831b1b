import io
import struct
import zipfile
import zlib
from types import SimpleNamespace

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils.datastructures import MultiValueDict
from PIL import Image

from portal_core import uploads
from portal_core.text import size_label
from portal_core.uploads import (
    CSV,
    DOC,
    DOCX,
    JPEG,
    PDF,
    PNG,
    XLSX,
    XML,
    AttachmentsField,
    StoredUpload,
    download_response,
    files_removed_unless_committed,
    original_name,
    storage_name,
    stored_upload_save,
    validate_favicon,
    validate_upload,
)
from tests.upload_files import DOCM_CONTENT_TYPES, DOCX_CONTENT_TYPES, compound_file, docx, office_zip

PDF_BYTES = b"%PDF-1.4\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


class UploadForm(forms.Form):
    files = AttachmentsField(kinds=(PDF, JPEG, PNG), max_size=100, max_files=2)


def errors_for(*files):
    form = UploadForm(data={}, files=MultiValueDict({"files": list(files)}))
    assert not form.is_valid()
    return form.errors["files"]


def test_checked_files_come_back_with_their_kind():
    form = UploadForm(
        data={},
        files=MultiValueDict(
            {"files": [SimpleUploadedFile("a.pdf", PDF_BYTES), SimpleUploadedFile("b.png", PNG_BYTES)]}
        ),
    )
    assert form.is_valid(), form.errors
    assert [(u.file.name, u.kind) for u in form.cleaned_data["files"]] == [("a.pdf", PDF), ("b.png", PNG)]


def test_every_broken_file_is_named_at_once():
    errors = errors_for(
        SimpleUploadedFile("tool.pdf", b"MZ\x90\x00" * 10),
        SimpleUploadedFile("photo.pdf", PNG_BYTES),
    )
    assert errors == [
        "“tool.pdf” is not a file we accept. Allowed: PDF, JPG, PNG.",
        "“photo.pdf” contains a PNG but its name says otherwise. Rename it to end in .png.",
    ]


def test_too_many_files_and_too_large_and_empty_files_are_refused():
    assert "attach at most 2" in errors_for(*[SimpleUploadedFile(f"{n}.pdf", PDF_BYTES) for n in range(3)])[0]
    assert errors_for(SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 100)) == [
        "“big.pdf” is larger than 100\xa0bytes, the most one file may be."
    ]
    assert errors_for(SimpleUploadedFile("empty.pdf", b"")) == ["“empty.pdf” is empty."]


def test_no_file_is_an_empty_list():
    form = UploadForm(data={}, files=MultiValueDict())
    assert form.is_valid()
    assert form.cleaned_data["files"] == []


def test_limits_are_said_as_people_write_them():
    assert size_label(3 * 1024 * 1024) == "3 MB"
    assert size_label(512 * 1024) == "512 KB"


def test_downloads_are_never_rendered_by_the_browser():
    response = download_response(
        ContentFile(b"<script>", name="x.pdf"), filename="x.pdf", content_type="application/pdf"
    )
    assert response["Content-Disposition"] == 'attachment; filename="x.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.django_db(transaction=True)
def test_files_of_a_failed_transaction_are_removed(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with pytest.raises(RuntimeError), files_removed_unless_committed() as written, transaction.atomic():
        name = default_storage.save("doc.pdf", ContentFile(PDF_BYTES))
        written.append(SimpleNamespace(storage=default_storage, name=name))  # as a model's FieldFile has
        raise RuntimeError("the database write failed")
    assert not default_storage.exists(name)


def test_validation_error_is_raised_for_required_field_without_files():
    class Required(forms.Form):
        files = AttachmentsField(kinds=(PDF,), max_size=100, max_files=2, required=True)

    form = Required(data={}, files=MultiValueDict())
    assert not form.is_valid()
    assert "required" in str(form.errors["files"])
    with pytest.raises(ValidationError):
        Required.base_fields["files"].clean([])


# Content that passes for an accepted kind at first sight, and is refused for what it really holds.

TEN_MB = 10 * 1024 * 1024
OFFICE_KINDS = (DOC, DOCX, XLSX, CSV, XML, PDF)


def refusal(name: str, content: bytes, *, kinds=OFFICE_KINDS, max_size: int = TEN_MB, charset=None) -> list[str]:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    upload.charset = charset
    with pytest.raises(ValidationError) as refused:
        validate_upload(upload, allowed=kinds, max_size=max_size)
    return refused.value.messages


def accepted(name: str, content: bytes, *, kinds=OFFICE_KINDS, charset=None):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    upload.charset = charset
    return validate_upload(upload, allowed=kinds, max_size=TEN_MB)


def test_real_office_files_and_csv_are_accepted():
    assert accepted("letter.docx", docx()) == DOCX
    assert accepted("old.doc", compound_file(("WordDocument", "1Table"))) == DOC
    assert accepted("data.csv", b"date,amount\n2026-01-02,42\n2026-01-03,7\n") == CSV
    assert accepted("data.csv", "name;city\nZoë;Zürich\n".encode("cp1252"), charset="windows-1252") == CSV
    assert accepted("order.xml", b'<?xml version="1.0"?><order id="1"><line/></order>') == XML


def test_zip_bomb_office_file_is_refused_from_its_directory_without_being_expanded():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", DOCX_CONTENT_TYPES)
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/image1.png", "w") as member:
            for _ in range(51):
                member.write(bytes(1024 * 1024))
    bomb = buffer.getvalue()
    assert len(bomb) < 64 * 1024

    assert refusal("report.docx", bomb) == ["“report.docx” expands to more than 50 MB when opened, the most we open."]


def test_office_file_with_too_many_entries_is_refused_even_when_its_end_record_understates_them():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", DOCX_CONTENT_TYPES)
        for number in range(20_000):
            archive.writestr(f"word/p{number}.xml", b"")
    crowded = buffer.getvalue()
    end = crowded.rindex(b"PK\x05\x06")
    understated = crowded[: end + 8] + struct.pack("<HH", 5, 5) + crowded[end + 12 :]

    for content in (crowded, understated):
        assert refusal("many.docx", content) == ["“many.docx” holds more than 1,000 parts, the most we open."]
    # Where Office files are not taken, any archive is simply not accepted.
    assert refusal("many.docx", crowded, kinds=(PDF,)) == ["“many.docx” is not a file we accept. Allowed: PDF."]


def as_zip64(content: bytes, *, classic_entries: int, classic_directory_size: int) -> bytes:
    """The archive with a zip64 end record (its true counts) and a classic end record saying what it is told to."""
    end = content.rindex(b"PK\x05\x06")
    entries, directory_size, directory_offset = struct.unpack_from("<HIL", content, end + 10)
    record64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, directory_size, directory_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    classic = content[end : end + 8] + struct.pack("<HHL", classic_entries, classic_entries, classic_directory_size)
    return content[:end] + record64 + locator + classic + content[end + 16 :]


def test_office_file_with_too_many_entries_is_refused_when_only_its_zip64_end_record_tells_them(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", DOCX_CONTENT_TYPES)
        for number in range(2_000):
            archive.writestr(f"word/p{number}.xml", b"")
    lying = as_zip64(buffer.getvalue(), classic_entries=5, classic_directory_size=100)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        assert len(archive.infolist()) == 2_001  # what zipfile would read, from the zip64 record

    parsed = []
    monkeypatch.setattr(uploads.zipfile, "ZipFile", lambda *args, **kwargs: parsed.append(args) or None)
    assert refusal("many.docx", lying) == ["“many.docx” holds more than 1,000 parts, the most we open."]
    assert parsed == []  # refused from the end records, before zipfile reads a directory of any size
    monkeypatch.undo()
    # A real document written with zip64 records (as some tools always do) passes.
    honest = as_zip64(docx(), classic_entries=0xFFFF, classic_directory_size=0xFFFFFFFF)
    assert accepted("letter.docx", honest) == DOCX


def with_content_types_entry(content: bytes, offset: int, value: bytes) -> bytes:
    """The file with bytes changed in the central directory entry of [Content_Types].xml (the first one)."""
    entry = content.index(b"PK\x01\x02") + offset
    return content[:entry] + value + content[entry + len(value) :]


def test_office_file_whose_content_types_are_encrypted_or_corrupt_is_refused_as_damaged():
    content = docx()
    encrypted = with_content_types_entry(content, 8, struct.pack("<H", 0x1))
    start = content.index(b"PK\x03\x04") + 30 + len("[Content_Types].xml")
    corrupt = content[:start] + b"\xff" * 8 + content[start + 8 :]

    for damaged in (encrypted, corrupt):
        assert refusal("letter.docx", damaged) == ["“letter.docx” is damaged or not what its content first says it is."]


def test_office_file_whose_directory_understates_a_part_is_refused_as_damaged():
    content = docx()
    declared = len(DOCX_CONTENT_TYPES.encode())
    # Central directory entry of [Content_Types].xml: its uncompressed size field says 10 bytes.
    entry = content.index(b"PK\x01\x02")
    assert struct.unpack_from("<I", content, entry + 24)[0] == declared
    lying = content[: entry + 24] + struct.pack("<I", 10) + content[entry + 28 :]

    assert refusal("letter.docx", lying) == ["“letter.docx” is damaged or not what its content first says it is."]


@pytest.mark.parametrize(
    "content",
    [
        docx(**{"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macros"}),
        office_zip({"word/document.xml": "<w:document/>"}, content_types=DOCM_CONTENT_TYPES),
    ],
    ids=["vba-project", "macro-enabled-content-type"],
)
def test_macro_enabled_document_named_docx_is_refused(content):
    assert refusal("invoice.docx", content) == [
        "“invoice.docx” contains macros, which we do not accept: save it without them."
    ]


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
        )
        + b"]><lolz>&lol9;</lolz>",
    ],
    ids=["external-entity", "billion-laughs"],
)
def test_xml_with_a_dtd_or_entities_is_refused(content):
    assert refusal("order.xml", content) == ["“order.xml” declares a DTD or entities, which we do not accept in XML."]


def test_xml_that_is_not_well_formed_is_refused_with_where():
    assert refusal("order.xml", b'<?xml version="1.0"?>\n<order>\n</ordre>') == [
        "“order.xml” is not well-formed XML (line 3, column 3)."
    ]


UNEVEN_CSV = "its first lines do not have the same columns, separated by commas, semicolons or tabs"


def test_plain_text_named_csv_is_refused():
    prose = (
        b"Dear support team,\n"
        b"I would like to move my booking to next week, or the week after if that is easier.\n"
        b"Thank you for your help.\n"
    )
    assert refusal("notes.csv", prose) == [f"“notes.csv” does not look like CSV: {UNEVEN_CSV}."]
    assert refusal("note.csv", b"Please call me back tomorrow.\n") == [
        "“note.csv” does not look like CSV: a CSV needs a header line and at least one line of data."
    ]
    uneven = b"name,city\nAda,London\nThank you, see you soon, regards\n"
    assert refusal("list.csv", uneven) == [f"“list.csv” does not look like CSV: {UNEVEN_CSV}."]
    # Prose under another name is simply not a kind we take, rather than "rename it to .csv".
    assert refusal("notes.txt", prose) == [
        "“notes.txt” is not a file we accept. Allowed: DOC, DOCX, XLSX, CSV, XML, PDF."
    ]


def test_csv_with_binary_or_mixed_encodings_past_its_first_lines_is_refused():
    head = b"date,amount\n" + b"2026-01-02,42\n" * 1000
    assert refusal("data.csv", head + b"2026-01-03,\x00\x01\n") == ["“data.csv” holds binary data, not text."]
    assert refusal("data.csv", head + "2026-01-03,Zoë\n".encode("latin-1")) == [
        "“data.csv” is not text in UTF-8; save it as CSV UTF-8."
    ]


@pytest.mark.parametrize("charset", ["base64", "rot13", "no-such-charset"])
def test_a_declared_charset_that_is_not_a_text_encoding_counts_as_utf8(charset):
    assert accepted("data.csv", b"date,amount\n2026-01-02,42\n", charset=charset) == CSV
    assert refusal("data.csv", b"date,amount\n2026-01-02,\xff\n", charset=charset) == [
        "“data.csv” is not text in UTF-8; save it as CSV UTF-8."
    ]


def test_old_office_file_without_a_word_document_is_not_a_doc():
    workbook = compound_file(("Workbook",))
    assert refusal("sheet.doc", workbook) == [
        "“sheet.doc” is not a file we accept. Allowed: DOC, DOCX, XLSX, CSV, XML, PDF."
    ]
    magic_only = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert refusal("old.doc", magic_only) == [
        "“old.doc” is not a file we accept. Allowed: DOC, DOCX, XLSX, CSV, XML, PDF."
    ]


@pytest.mark.parametrize("storage", ["Macros", "_VBA_PROJECT_CUR"])
def test_old_word_document_with_macro_storage_is_refused(storage):
    assert refusal("old.doc", compound_file(("WordDocument", "1Table"), (storage,))) == [
        "“old.doc” contains macros, which we do not accept: save it without them."
    ]


def test_a_download_name_cannot_break_the_header_or_name_a_path():
    response = download_response(
        ContentFile(PDF_BYTES, name="x.pdf"),
        filename='..\\evil/re"port\r\nSet-Cookie: a=b.pdf',
        content_type="application/pdf",
    )

    assert response["Content-Disposition"] == (
        "attachment; filename=\"re'portSet-Cookie_ a=b.pdf\"; filename*=UTF-8''re%27portSet-Cookie%3A%20a%3Db.pdf"
    )
    assert "Set-Cookie" not in response.headers


def test_a_download_name_outside_ascii_has_an_ascii_fallback():
    response = download_response(
        ContentFile(PDF_BYTES, name="x.pdf"), filename="Crème brûlée 100%.pdf", content_type="application/pdf"
    )

    assert response["Content-Disposition"] == (
        "attachment; filename=\"Creme brulee 100_.pdf\"; filename*=UTF-8''Cr%C3%A8me%20br%C3%BBl%C3%A9e%20100%25.pdf"
    )


def test_stored_names_are_random_and_keep_only_a_plain_extension():
    first, second = storage_name("docs", "Passport scan.PDF"), storage_name("docs", "Passport scan.PDF")
    assert first != second and first.startswith("docs/") and first.endswith(".pdf") and "Passport" not in first
    assert storage_name("docs", "notes." + "x" * 300).count(".") == 0
    assert storage_name("docs", "archive.tar.g z").count(".") == 0


def test_original_names_are_trimmed_by_characters_keeping_the_extension():
    assert original_name("a" * 300 + ".docx", max_length=200) == "a" * 195 + ".docx"
    assert original_name("C:\\Users\\ana\\scan\u202egpj.exe", max_length=200) == "scangpj.exe"
    assert original_name("report." + "x" * 300, max_length=200) == ("report." + "x" * 300)[:200]
    assert original_name("\r\n", max_length=200) == "file"


def _stored_uploads():
    """One unsaved row of every concrete StoredUpload, with what it belongs to saved."""
    from bookings.models import BookingDocument
    from conversations.models import Attachment
    from tests.bookings.factories import BookingFactory
    from tests.conversations.factories import MessageFactory
    from tests.tickets.factories import TicketMessageFactory
    from tickets.models import TicketAttachment

    message = TicketMessageFactory()
    return [
        (TicketAttachment(message=message), f"tickets/{message.ticket.organisation_id}/"),
        (BookingDocument(booking=BookingFactory()), "booking-documents/"),
        (Attachment(message=MessageFactory()), "conversations/"),
    ]


@pytest.mark.django_db
def test_every_stored_upload_keeps_the_customers_name_as_data_never_in_its_path():
    for upload, folder in _stored_uploads():
        assert isinstance(upload, StoredUpload)
        with files_removed_unless_committed() as written, transaction.atomic():
            stored_upload_save(
                upload=upload, file=SimpleUploadedFile("Passport ../scan.PDF", PDF_BYTES), kind=PDF, written=written
            )

        saved = type(upload).objects.get(pk=upload.pk)
        assert (saved.original_name, saved.content_type, saved.size) == ("scan.PDF", "application/pdf", len(PDF_BYTES))
        assert saved.file.name.startswith(folder) and saved.file.name.endswith(".pdf")
        assert "scan" not in saved.file.name.lower() and "passport" not in saved.file.name.lower()
        assert default_storage.open(saved.file.name).read() == PDF_BYTES


@pytest.mark.django_db
def test_a_stored_upload_whose_transaction_fails_leaves_neither_row_nor_file():
    for upload, _ in _stored_uploads():
        with pytest.raises(RuntimeError), files_removed_unless_committed() as written, transaction.atomic():
            stored_upload_save(upload=upload, file=SimpleUploadedFile("a.pdf", PDF_BYTES), kind=PDF, written=written)
            raise RuntimeError("the write after the file fails")

        assert not type(upload).objects.exists()
        assert not default_storage.exists(written[0].name)


def _saved_with_a_file(upload):
    with files_removed_unless_committed() as written, transaction.atomic():
        stored_upload_save(upload=upload, file=SimpleUploadedFile("a.pdf", PDF_BYTES), kind=PDF, written=written)
    return upload.file.name


@pytest.mark.django_db
def test_deleting_stored_uploads_deletes_their_files_only_once_the_rows_are_gone(django_capture_on_commit_callbacks):
    for upload, _ in _stored_uploads():
        name = _saved_with_a_file(upload)

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            type(upload).objects.filter(pk=upload.pk).delete()
        assert default_storage.exists(name)  # not before the commit
        for callback in callbacks:
            callback()

        assert not type(upload).objects.exists()
        assert not default_storage.exists(name)


@pytest.mark.django_db
def test_a_deletion_rolled_back_keeps_the_files(django_capture_on_commit_callbacks):
    for upload, _ in _stored_uploads():
        name = _saved_with_a_file(upload)

        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
            type(upload).objects.filter(pk=upload.pk).delete()
            raise RuntimeError("the write after the deletion fails")

        assert type(upload).objects.filter(pk=upload.pk).exists()
        assert default_storage.exists(name)


def _organisation_of(upload):
    from bookings.models import BookingDocument
    from tickets.models import TicketAttachment

    if isinstance(upload, BookingDocument):
        return upload.booking.organisation
    holder = upload.message.ticket if isinstance(upload, TicketAttachment) else upload.message.conversation
    return holder.organisation


@pytest.mark.django_db
def test_deleting_an_organisation_deletes_every_file_it_held(django_capture_on_commit_callbacks):
    from portal_auth.models import Portal

    for upload, _ in _stored_uploads():
        name = _saved_with_a_file(upload)
        organisation = _organisation_of(upload)
        portal = Portal.objects.create(organisation=organisation, slug=f"{organisation.slug}-shop", name="Shop")
        portal.logo.save("logo.png", ContentFile(png_of(64)))
        logo = portal.logo.name

        with django_capture_on_commit_callbacks(execute=True):
            organisation.delete()

        assert not type(upload).objects.exists()
        assert not default_storage.exists(name)
        assert not default_storage.exists(logo)


# ---------------------------------------------------------------------------------------------
# Images


def png_of(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), "#0f5c8a").save(buffer, format="PNG")
    return buffer.getvalue()


def png_claiming(side: int) -> bytes:
    """A small PNG whose header says it is side×side: what a decoder would have to unpack."""
    content = png_of(1)
    header = struct.pack(">II", side, side) + content[24:29]
    chunk = b"IHDR" + header
    return content[:8] + struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk)) + content[33:]


def ico_of(*entries: tuple[int, bytes]) -> bytes:
    """An ICO whose directory names each entry's size as given, whatever the entry really holds."""
    directory = struct.pack("<HHH", 0, 1, len(entries))
    offset, body = 6 + 16 * len(entries), b""
    for side, content in entries:
        directory += struct.pack("<BBBBHHII", side % 256, side % 256, 0, 0, 1, 32, len(content), offset + len(body))
        body += content
    return directory + body


def favicon_refusal(content: bytes) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        validate_favicon(SimpleUploadedFile("favicon.ico", content))
    return refused.value.messages


def test_an_ico_with_several_honest_sizes_is_a_favicon():
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), "#0f5c8a").save(buffer, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    validate_favicon(SimpleUploadedFile("favicon.ico", buffer.getvalue()))
    validate_favicon(SimpleUploadedFile("favicon.ico", ico_of((32, png_of(32)), (16, png_of(16)))))


def test_every_entry_of_an_ico_is_measured_not_only_the_one_its_directory_calls_largest():
    hidden = ico_of((32, png_of(32)), (16, png_of(2000)))

    assert favicon_refusal(hidden) == ["“favicon.ico” is 2000×2000 pixels; it may be at most 512×512."]


def test_an_ico_hiding_an_entry_of_hundreds_of_megapixels_is_refused_undecoded():
    bomb = ico_of((32, png_of(32)), (16, png_claiming(25000)))

    assert favicon_refusal(bomb) == ["“favicon.ico” holds an image larger than 512×512 pixels."]
