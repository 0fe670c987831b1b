"""What a customer's file really is, judged by its content rather than its name, and how it is kept.

Shared by every app that takes uploads (booking documents, ticket and conversation attachments): each
stores them in a model of its own that inherits StoredUpload.
"""

import codecs
import csv
import logging
import os
import re
import secrets
import struct
import unicodedata
import zipfile
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import quote
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

import olefile
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring
from django import forms
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from PIL import Image

from portal_core.text import size_label

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
WEBP = FileKind("WebP", "image/webp", (".webp",))
ICO = FileKind("ICO", "image/x-icon", (".ico",))
SVG = FileKind("SVG", "image/svg+xml", (".svg",))
XLSX = FileKind("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
DOCX = FileKind("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
DOC = FileKind("DOC", "application/msword", (".doc",))
CSV = FileKind("CSV", "text/csv", (".csv",))
XML = FileKind("XML", "application/xml", (".xml",))

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SNIFF_BYTES = 8192

# An Office file is a zip: these bound what opening it would cost whoever opens it (zip bombs).
OFFICE_MAX_EXPANDED_SIZE = 50 * 1024 * 1024
OFFICE_MAX_ENTRIES = 1000
# An entry is 46 bytes and its name; Office names are short, so 512 bytes each is ample.
_DIRECTORY_BYTES_PER_ENTRY = 512
_EOCD_SIZE = 22
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_RECORD_SIZE = 56
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX_SIZE = 1024 * 1024
# Where old Office files (and OOXML through its content types) keep VBA macros.
_MACRO_STORAGES = {"macros", "_vba_project_cur", "_vba_project", "vba"}

# A CSV is judged on its first lines; these many are enough to see whether they share one separator.
_CSV_SAMPLE_LINES = 20
_CSV_DELIMITERS = ",;\t|"


_MACROS = "contains macros, which we do not accept: save it without them"
_DAMAGED = "is damaged or not what its content first says it is"


class _Refused(Exception):
    """A file of a kind we take whose content we won't: `reason` completes "“name” …"."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def _read_head(file, size: int = _SNIFF_BYTES) -> bytes:
    file.seek(0)
    head = file.read(size)
    file.seek(0)
    return head


def _check_zip_directory(file) -> None:
    """Refuse an archive whose central directory is too large to parse, reading only its end record.

    zipfile reads the directory by its size in bytes (the entry count there may lie), so both are bounded."""
    file.seek(0, os.SEEK_END)
    size = file.tell()
    tail_start = max(0, size - _EOCD_SIZE - 0xFFFF)  # the record, after a comment of at most 64 KB
    file.seek(tail_start)
    tail = file.read()
    file.seek(0)
    record = tail.rfind(b"PK\x05\x06")
    if record < 0 or record + _EOCD_SIZE > len(tail):
        return  # not an archive zipfile can read either: detection says so
    entries, directory_size = struct.unpack_from("<HI", tail, record + 10)
    # zipfile prefers a zip64 end record, found by the locator just before this one: its counts are the ones read.
    locator = record - _ZIP64_LOCATOR_SIZE
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        record64 = locator - _ZIP64_RECORD_SIZE
        if record64 < 0 or tail[record64 : record64 + 4] != b"PK\x06\x06":
            raise _Refused("damaged", _DAMAGED)
        entries, directory_size = struct.unpack_from("<QQ", tail, record64 + 32)
    if entries > OFFICE_MAX_ENTRIES or directory_size > OFFICE_MAX_ENTRIES * _DIRECTORY_BYTES_PER_ENTRY:
        raise _Refused("too_many_entries", f"holds more than {OFFICE_MAX_ENTRIES:,} parts, the most we open")


def _zip_kind(file) -> FileKind | None:
    # Only the central directory is read here; nothing is decompressed.
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except Exception:  # as in _check_office_zip: whatever fails to read is not an Office file
        return None
    finally:
        file.seek(0)
    if _CONTENT_TYPES not in names:
        return None
    if any(name.startswith("xl/") for name in names):
        return XLSX
    if any(name.startswith("word/") for name in names):
        return DOCX
    return None


def _ole_kind(file) -> FileKind | None:
    """DOC only when the compound file holds a Word document: the magic alone is any old Office file."""
    try:
        with olefile.OleFileIO(file) as ole:
            return DOC if ole.exists("WordDocument") and ole.get_type("WordDocument") == olefile.STGTY_STREAM else None
    except Exception:  # olefile raises many kinds of error on a damaged or hostile file; each means "not a DOC"
        return None
    finally:
        file.seek(0)


def _declared_charset(file) -> str:
    """The charset the upload declared, if Python knows it; UTF-8 otherwise."""
    charset = getattr(file, "charset", None) or "utf-8"
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        return "utf-8"
    # "base64" or "rot13" are codecs too, but not text encodings; bytes.decode() refuses them by this flag.
    return codec.name if getattr(codec, "_is_text_encoding", True) else "utf-8"


def _text(head: bytes, charset: str = "utf-8") -> str | None:
    try:
        # The head may end inside a multi-byte character; ignore only that tail.
        text = codecs.getincrementaldecoder(charset)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _csv_problem(text: str, *, complete: bool) -> str | None:
    """Why this text is not a CSV, or None when it looks like one: the same separator on every first line."""
    lines = text.lstrip("\ufeff").splitlines()
    if not complete:
        lines = lines[:-1]  # the head may end mid-line
    lines = [line for line in lines if line.strip()][:_CSV_SAMPLE_LINES]
    if len(lines) < 2:
        return "a CSV needs a header line and at least one line of data"
    sample = "\n".join(lines)
    uneven = "its first lines do not have the same columns, separated by commas, semicolons or tabs"
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS)
    except csv.Error:
        return uneven
    widths = {len(row) for row in csv.reader(lines, dialect) if row}
    if len(widths) != 1 or widths.pop() < 2:
        return uneven
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
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"\x00\x00\x01\x00":
        return ICO
    if head.startswith(_OLE2_MAGIC):
        return _ole_kind(file)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(file)
    text = _text(head, _declared_charset(file))
    if text is None:
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<?xml") or stripped.startswith("<svg") or stripped.startswith("<!DOCTYPE"):
        # An SVG can run scripts; it may hide its <svg> behind a long prologue, so look at the whole head.
        return SVG if "<svg" in stripped.lower() else XML
    complete = file.size is not None and file.size <= len(head)
    if stripped and not stripped.startswith("<") and _csv_problem(text, complete=complete) is None:
        return CSV
    return None


def _check_office_zip(file) -> None:
    """Refuse zip bombs and macros, judged from the central directory and a bounded read of the content types."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            if len(members) > OFFICE_MAX_ENTRIES:
                raise _Refused("too_many_entries", f"holds more than {OFFICE_MAX_ENTRIES:,} parts, the most we open")
            if sum(member.file_size for member in members) > OFFICE_MAX_EXPANDED_SIZE:
                raise _Refused(
                    "too_large_expanded",
                    f"expands to more than {size_label(OFFICE_MAX_EXPANDED_SIZE)} when opened, the most we open",
                )
            if any(PurePosixPath(member.filename).name.lower() == "vbaproject.bin" for member in members):
                raise _Refused("macros", _MACROS)
            content_types = archive.getinfo(_CONTENT_TYPES)
            if content_types.file_size > _CONTENT_TYPES_MAX_SIZE:
                raise _Refused("damaged", _DAMAGED)
            # The directory may lie about the size: read no more than it says, and zipfile checks the CRC at the end.
            with archive.open(content_types) as member:
                declared = member.read(_CONTENT_TYPES_MAX_SIZE + 1)
                if len(declared) > _CONTENT_TYPES_MAX_SIZE or member.read(1):
                    raise _Refused("damaged", _DAMAGED)
    except _Refused:
        raise
    except Exception:  # a hostile archive can fail in zipfile, zlib, bz2 or lzma in many ways; each means damage
        raise _Refused("damaged", _DAMAGED) from None
    finally:
        file.seek(0)
    try:
        types = xml_fromstring(declared, forbid_dtd=True)
    except (ParseError, DefusedXmlException):
        raise _Refused("damaged", _DAMAGED) from None
    for element in types.iter():
        content_type = element.get("ContentType", "").lower()
        if "macroenabled" in content_type or "vbaproject" in content_type:
            raise _Refused("macros", _MACROS)


def _check_doc(file) -> None:
    try:
        with olefile.OleFileIO(file) as ole:
            entries = ole.listdir(streams=True, storages=True)
    except Exception:  # as in _ole_kind: any error reading a compound file means it is damaged
        raise _Refused("damaged", _DAMAGED) from None
    finally:
        file.seek(0)
    if any(part.lower() in _MACRO_STORAGES for path in entries for part in path):
        raise _Refused("macros", _MACROS)


def _refuse_dtd(*args: object) -> NoReturn:
    raise _Refused("xml_dtd", "declares a DTD or entities, which we do not accept in XML")


def _check_xml(file) -> None:
    # A DTD is where entities live (external files, "billion laughs"): refused at its first byte, before any
    # entity is declared. Expat alone, with no handler per element, checks the rest at C speed and builds nothing.
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    file.seek(0)
    try:
        parser.ParseFile(file)
    except expat.ExpatError as error:
        raise _Refused(
            "xml_invalid", f"is not well-formed XML (line {error.lineno}, column {error.offset + 1})"
        ) from None
    finally:
        file.seek(0)


def _check_csv(file) -> None:
    """The whole file, not just its head: text in one encoding without NUL, and CSV-shaped."""
    file.seek(0)
    content = file.read()
    file.seek(0)
    charset = _declared_charset(file)
    try:
        text = content.decode(charset)
    except UnicodeDecodeError:
        raise _Refused("csv_encoding", f"is not text in {charset.upper()}; save it as CSV UTF-8") from None
    if "\x00" in text:
        raise _Refused("csv_binary", "holds binary data, not text")
    problem = _csv_problem(text, complete=True)
    if problem:
        raise _Refused("not_csv", f"does not look like CSV: {problem}")


_CONTENT_CHECKS = {XLSX: _check_office_zip, DOCX: _check_office_zip, DOC: _check_doc, XML: _check_xml, CSV: _check_csv}


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
    not_accepted = ValidationError(
        "“%(name)s” is not a file we accept. Allowed: %(allowed)s.",
        code="bad_type",
        params={"name": name, "allowed": ", ".join(k.name for k in allowed)},
    )
    if _read_head(file, 4) == b"PK\x03\x04":
        # Before zipfile parses a directory that may be huge; the rule is worth naming only where Office files go.
        if DOCX in allowed or XLSX in allowed:
            _raise_if_refused(_check_zip_directory, file, name)
        else:
            raise not_accepted
    kind = detect_kind(file)
    if kind is None and CSV in allowed and name.lower().endswith(CSV.extensions):
        # Text that is not CSV-shaped is not detected as CSV; say why rather than only "not accepted".
        kind = CSV
    if kind not in allowed:
        raise not_accepted
    if not name.lower().endswith(kind.extensions):
        raise ValidationError(
            "“%(name)s” contains a %(kind)s but its name says otherwise. Rename it to end in %(ext)s.",
            code="bad_extension",
            params={"name": name, "kind": kind.name, "ext": kind.extensions[0]},
        )
    if kind in _CONTENT_CHECKS:
        _raise_if_refused(_CONTENT_CHECKS[kind], file, name)
    return kind


def _raise_if_refused(check, file, name: str) -> None:
    try:
        check(file)
    except _Refused as refused:
        raise ValidationError(
            "“%(name)s” %(reason)s.", code=refused.code, params={"name": name, "reason": refused.reason}
        ) from None


# What Pillow calls each kind of image we decode.
_PILLOW_FORMATS = {PNG: "PNG", JPEG: "JPEG", WEBP: "WEBP", ICO: "ICO", GIF: "GIF"}


def validate_image(
    file: UploadedFile,
    *,
    allowed: tuple[FileKind, ...],
    max_size: int,
    max_pixels: tuple[int, int],
    square: bool = False,
) -> FileKind:
    """`validate_upload` for images, which must also decode whole and fit within `max_pixels` (width, height)."""
    kind = validate_upload(file, allowed=allowed, max_size=max_size)
    name = file.name or "file"
    max_width, max_height = max_pixels
    file.seek(0)
    try:
        with Image.open(file, formats=[_PILLOW_FORMATS[kind]]) as image:
            width, height = image.size
            # Measured from the header, before the pixels are decoded: a small file may unpack into a huge image.
            for entry_width, entry_height in _image_sizes(image, kind):
                if entry_width > max_width or entry_height > max_height:
                    raise ValidationError(
                        "“%(name)s” is %(width)d×%(height)d pixels; it may be at most %(max_width)d×%(max_height)d.",
                        code="too_many_pixels",
                        params={
                            "name": name,
                            "width": entry_width,
                            "height": entry_height,
                            "max_width": max_width,
                            "max_height": max_height,
                        },
                    )
            image.load()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise ValidationError(
            "“%(name)s” holds an image larger than %(max_width)d×%(max_height)d pixels.",
            code="too_many_pixels",
            params={"name": name, "max_width": max_width, "max_height": max_height},
        ) from None
    except Exception:  # Pillow fails in many ways on a damaged or hostile image; each means the same to the uploader
        raise ValidationError(
            "“%(name)s” %(reason)s.", code="damaged", params={"name": name, "reason": _DAMAGED}
        ) from None
    finally:
        file.seek(0)
    if square and width != height:
        raise ValidationError(
            "“%(name)s” is %(width)d×%(height)d pixels; it must be square, such as 32×32 or 180×180.",
            code="not_square",
            params={"name": name, "width": width, "height": height},
        )
    return kind


def _image_sizes(image: Image.Image, kind: FileKind) -> list[tuple[int, int]]:
    """The size of every image the file holds, read from each one's own header (an ICO's bitmap entries are decoded to
    be read: the upload's size limit bounds that work)."""
    if kind is ICO:
        # Pillow measures and decodes only the entry the directory calls largest, and the directory may lie; a
        # browser shows whichever entry suits the tab, so each is measured as it really is.
        ico = image.ico  # type: ignore[attr-defined]
        return [ico.frame(index).size for index in range(len(ico.entry))]
    return [image.size]


def validate_logo(file) -> None:
    validate_image(file, allowed=(PNG, JPEG, WEBP), max_size=1024 * 1024, max_pixels=(2000, 2000))


def validate_favicon(file) -> None:
    validate_image(file, allowed=(PNG, ICO), max_size=100 * 1024, max_pixels=(512, 512), square=True)


# What a stored file's extension may be: the customer's name is never part of a path, its extension only if plain.
_STORED_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")
_LONGEST_KEPT_EXTENSION = 16
# What may stand in a quoted filename="…" as every browser reads it (no quote, backslash, percent or control).
_ASCII_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&'()+,.;=@\[\]^_`{}~-]+")


def storage_name(folder: str, filename: str) -> str:
    """A random path in `folder` for an upload (an `upload_to`): the customer's file name is kept as data instead.

    A name of any length in any script fits every file system, and no stored path can be guessed.
    """
    extension = os.path.splitext(filename)[1].lower()
    if not _STORED_EXTENSION.fullmatch(extension):
        extension = ""
    return f"{folder}/{secrets.token_urlsafe(24)}{extension}"


def original_name(name: str | None, *, max_length: int) -> str:
    """The customer's file name as shown and downloaded: its last part, no control characters, at most
    `max_length` characters, trimmed before its extension so that it still opens with the right program."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    # Control and format characters (a right-to-left override turns "gpj.exe" around) and line breaks go.
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and unicodedata.category(c) not in ("Zl", "Zp"))
    # Dots alone ("..", ".") name no file, and a storage refuses them as a way out of its folder.
    name = name.strip() if name.strip().strip(".") else "file"
    if len(name) > max_length:
        stem, extension = os.path.splitext(name)
        if len(extension) > min(_LONGEST_KEPT_EXTENSION, max_length // 2):
            stem, extension = name, ""
        name = stem[: max_length - len(extension)].rstrip() + extension
    return name


def _ascii_fallback(text: str) -> str:
    return _ASCII_FALLBACK_UNSAFE.sub("_", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def content_disposition(filename: str) -> str:
    """`attachment` with the name (RFC 6266): plain ASCII as is, anything else as RFC 5987 UTF-8 with an ASCII
    fallback for old clients. Never a line break, quote or path separator, whatever the stored name holds."""
    name = original_name(filename, max_length=255).replace('"', "'")
    stem, extension = (_ascii_fallback(part) for part in os.path.splitext(name))
    fallback = f"{stem if any(c.isalnum() for c in stem) else 'download'}{extension}"
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


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
    response = FileResponse(file, as_attachment=True, content_type=content_type)
    # Django's own header has no ASCII fallback for a name outside ASCII; ours also cleans what the name holds.
    response["Content-Disposition"] = content_disposition(filename)
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
    if pairs:
        transaction.on_commit(lambda: _delete_quietly(pairs))


def files_go_with_their_rows() -> None:
    """Every model's files are deleted once the deletion of their row commits, however the row goes: the admin,
    a service, or the cascade of deleting an organisation or a customer with all they held (no file of theirs
    waits on disk for the weekly `purge_orphan_files`). A file whose row's deletion is rolled back stays.

    Connected once the models are loaded (PortalCoreConfig.ready); a listener makes Django load each row it
    deletes, which the files' names need anyway.
    """
    for model in apps.get_models():
        if any(isinstance(field, models.FileField) for field in model._meta.concrete_fields):
            post_delete.connect(_row_deleted, sender=model, dispatch_uid=f"files go with {model._meta.label}")


def _row_deleted(sender, instance, **kwargs) -> None:
    fields = (field for field in instance._meta.concrete_fields if isinstance(field, models.FileField))
    delete_files_on_commit(getattr(instance, field.attname) for field in fields)


def _delete_quietly(pairs) -> None:
    for storage, name in pairs:
        try:
            storage.delete(name)
        except OSError:  # a file left behind is harmless; failing the request over it is not
            logger.warning("Could not delete stored file %s", name)


def stored_upload_path(upload: "StoredUpload", filename: str) -> str:
    """The one `upload_to` of every stored upload: a random name in the folder its model chooses."""
    return storage_name(upload.storage_folder(), filename)


class StoredUpload(models.Model):
    """A customer's file as the portal keeps it: the file at a random path, its own name only as data.

    A concrete model adds what the file belongs to and says in `storage_folder` where its files go.
    Written only by `stored_upload_save`; its file is deleted with its row (`files_go_with_their_rows`).
    """

    file = models.FileField(upload_to=stored_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField("detected type", max_length=120)
    size = models.PositiveBigIntegerField(help_text="In bytes.")
    created_at = models.DateTimeField("uploaded at", default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name

    def storage_folder(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} must say where its files are stored")


def stored_upload_save(*, upload: StoredUpload, file: UploadedFile, kind: FileKind, written: list) -> StoredUpload:
    """Store a checked file for `upload` (an unsaved row with its relations set), then save the row.

    `written` is the list of `files_removed_unless_committed`: if the transaction fails, the file goes too.
    """
    # Django names and sizes every file it receives (the stubs allow None for files made by hand), and a
    # CharField always has a max_length.
    assert file.name is not None and file.size is not None
    name_length = cast(int, type(upload)._meta.get_field("original_name").max_length)
    upload.original_name = original_name(file.name, max_length=name_length)
    upload.content_type = kind.content_type
    upload.size = file.size
    upload.file.save(file.name, file, save=False)
    written.append(upload.file)
    upload.save()
    return upload


if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object  # a mixin: the ModelAdmin comes with the class it is mixed into


class StoredUploadAdminMixin(_AdminBase):
    """For the admin of a StoredUpload model: a download view (`<app>_<model>_download`, never rendered
    in the browser)."""

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.download_view)
        name = f"{opts.app_label}_{opts.model_name}_download"
        return [path("<int:pk>/download/", view, name=name), *super().get_urls()]

    def download_view(self, request, pk: int) -> FileResponse:
        upload = get_object_or_404(self.model, pk=pk)
        if not self.has_view_permission(request, upload):
            raise PermissionDenied
        return stored_file_download(upload.file, filename=upload.original_name, content_type=upload.content_type)
