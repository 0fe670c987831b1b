"""What a customer's file really is, judged by its content rather than its name.

Shared by every app that takes uploads (booking documents, ticket and conversation attachments).
"""

import logging
import zipfile
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat

logger = logging.getLogger(__name__)


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


class _MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input, each checked by its content; every broken file is named at once.

    Returns a list of CheckedUpload (the file with its detected kind), empty when none was chosen.
    """

    widget = _MultipleFileInput

    def __init__(self, *, kinds: tuple[FileKind, ...], max_size: int, max_files: int, **kwargs):
        self.kinds, self.max_size, self.max_files = kinds, max_size, max_files
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Attachments")
        kwargs.setdefault(
            "help_text",
            f"Up to {max_files} files of up to {size_label(max_size)} each: {', '.join(k.name for k in kinds)}.",
        )
        # Empty files are refused below, with the file's name.
        super().__init__(allow_empty_file=True, **kwargs)
        accept = ",".join(extension for kind in kinds for extension in kind.extensions)
        self.widget.attrs.update({"multiple": True, "accept": accept})

    def clean(self, data, initial=None):
        files = [file for file in (data if isinstance(data, list | tuple) else [data]) if file]
        if not files and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(files) > self.max_files:
            raise ValidationError(
                "You chose %(count)d files; attach at most %(max)d to one message.",
                code="too_many_files",
                params={"count": len(files), "max": self.max_files},
            )
        checked, errors = [], []
        for file in files:
            try:
                super().clean(file, initial)
                kind = validate_upload(file, allowed=self.kinds, max_size=self.max_size)
            except ValidationError as error:
                errors.extend(error.error_list)
            else:
                checked.append(CheckedUpload(file=file, kind=kind))
        if errors:
            raise ValidationError(errors)
        return checked


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    kind: FileKind


def download_response(file: File, *, filename: str, content_type: str) -> FileResponse:
    """A stored upload as a download, never rendered: a browser must not run what a customer sent."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def stored_file_download(stored: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """`download_response` for a file in storage: a 404, not a server error, when the file has gone."""
    try:
        file = stored.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    return download_response(file, filename=filename, content_type=content_type)


@contextmanager
def files_removed_unless_committed():
    """Collect (storage, name) of files written for a transaction; delete them if it fails or rolls back.

    Storage is not transactional: without this, a refused or failed write leaves orphan files.

        with files_removed_unless_committed() as written, transaction.atomic():
            document.file.save(name, upload)
            written.append(document.file)
    """
    written: list = []
    try:
        yield written
    except BaseException:
        _delete_quietly([(file.storage, file.name) for file in written])
        raise


def delete_files_on_commit(files: Iterable) -> None:
    """Delete stored files once the deletion of their rows commits (admin deletes, cascades)."""
    pairs = [(file.storage, file.name) for file in files if file]
    transaction.on_commit(lambda: _delete_quietly(pairs))


def _delete_quietly(pairs) -> None:
    for storage, name in pairs:
        try:
            storage.delete(name)
        except OSError:  # a file left behind is harmless; failing the request over it is not
            logger.warning("Could not delete stored file %s", name)
