import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.upload_files import compound_file


@pytest.fixture
def make_conversation():
    return ConversationFactory


@pytest.fixture
def make_message():
    return MessageFactory


# The smallest files each kind is recognised by: the portal judges content, not names.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF_BYTES = b"GIF89a" + b"\x00" * 32
DOC_BYTES = compound_file(("WordDocument",))
CSV_BYTES = b"date,amount\n2026-01-02,42\n"
XML_BYTES = b'<?xml version="1.0"?><order id="1"/>'
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def office_bytes(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<x/>")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
