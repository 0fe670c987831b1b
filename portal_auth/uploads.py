"""What a customer's file really is, judged by its content rather than its name.

Shared by every app that takes uploads (booking documents, ticket and conversation attachments).
"""

import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat


@dataclass(frozen=True)
class FileKind:
    name: str  # what a person calls it: "PDF"
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("PDF", "application/pdf", (".pdf",))
JPEG = FileKind("JPG", "image/jpeg", (".jpg", ".jpeg"))
PNG = FileKind("PNG", "image/png", (".png",))
GIF = FileKind("GIF", "image/gif", (".gif",))
SVG = FileKind("SVG", "image/svg+xml", (".svg",))
XLSX = FileKind("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
DOCX = FileKind("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
DOC = FileKind("DOC", "application/msword", (".doc",))
CSV = FileKind("CSV", "text/csv", (".csv",))
XML = FileKind("XML", "application/xml", (".xml",))

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SNIFF_BYTES = 8192


def _read_head(file, size: int = _SNIFF_BYTES) -> bytes:
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def _zip_kind(file) -> FileKind | None:
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        file.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("xl/") for name in names):
        return XLSX
    if any(name.startswith("word/") for name in names):
        return DOCX
    return None


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        # The head may end inside a multi-byte character; ignore only that tail.
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:
            return head[: error.start].decode("utf-8", errors="strict")
        return None


def detect_kind(file) -> FileKind | None:
    """The kind of file by its first bytes (and, for Office files, the archive's members)."""
    head = _read_head(file)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head.startswith(_OLE2_MAGIC):
        return DOC
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(file)
    text = _text(head)
    if text is None:
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<?xml") or stripped.startswith("<svg") or stripped.startswith("<!DOCTYPE"):
        # An SVG can run scripts; it may hide its <svg> behind a long prologue, so look at the whole head.
        return SVG if "<svg" in stripped.lower() else XML
    if stripped and "<" not in stripped[:1]:
        return CSV
    return None


def size_label(size: int) -> str:
    """A limit as people write it: "3 MB", "10 MB", "512 KB"."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return filesizeformat(size)


def validate_upload(file: UploadedFile, *, allowed: tuple[FileKind, ...], max_size: int) -> FileKind:
    """Raise a ValidationError naming the file and the rule it breaks; return its kind otherwise."""
    name = file.name or "file"
    if file.size is not None and file.size > max_size:
        # Said without the file's rounded size: "3.0 MB is over 3.0 MB" would puzzle anyone just over.
        raise ValidationError(
            "“%(name)s” is larger than %(max)s, the most one file may be.",
            code="too_large",
            params={"name": name, "max": size_label(max_size)},
        )
    if file.size == 0:
        raise ValidationError("“%(name)s” is empty.", code="empty", params={"name": name})
    kind = detect_kind(file)
    allowed_names = ", ".join(k.name for k in allowed)
    if kind not in allowed:
        raise ValidationError(
            "“%(name)s” is not a file we accept. Allowed: %(allowed)s.",
            code="bad_type",
            params={"name": name, "allowed": allowed_names},
        )
    if not name.lower().endswith(kind.extensions):
        raise ValidationError(
            "“%(name)s” contains a %(kind)s but its name says otherwise. Rename it to end in %(ext)s.",
            code="bad_extension",
            params={"name": name, "kind": kind.name, "ext": kind.extensions[0]},
        )
    return kind


def validate_logo(file) -> None:
    validate_upload(file, allowed=(PNG, JPEG), max_size=1024 * 1024)
