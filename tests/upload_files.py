"""Files built byte by byte for upload tests: real Office containers, and hostile ones made to look real."""

import io
import struct
import zipfile

DOCX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
DOCM_CONTENT_TYPES = DOCX_CONTENT_TYPES.replace(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
)


def office_zip(members: dict[str, bytes | str], *, content_types: str = DOCX_CONTENT_TYPES) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx(**extra: bytes) -> bytes:
    return office_zip({"word/document.xml": "<w:document/>", **extra})


_FREE, _END, _FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_SECTOR = 512


def _entry(name: str, kind: int, *, child: int = _FREE, right: int = _FREE, start: int = _END, size: int = 0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, black
        + struct.pack("<III", _FREE, right, child)  # left, right sibling, child
        + b"\0" * 16  # class id
        + struct.pack("<I", 0)  # state bits
        + b"\0" * 16  # created, modified
        + struct.pack("<IQ", start, size)
    )


def compound_file(streams: tuple[str, ...] = ("WordDocument",), storages: tuple[str, ...] = ()) -> bytes:
    """An OLE2 compound file (version 3) whose root holds these streams (4 KB each, so no mini stream) and
    empty storages, chained as right siblings: what an old Office document's directory looks like to a reader."""
    names = [(name, 2) for name in streams] + [(name, 1) for name in storages]
    directory_sectors = (len(names) + 1 + 3) // 4
    first_data = 1 + directory_sectors
    fat = [_FAT] + [n + 2 if n + 1 < directory_sectors else _END for n in range(directory_sectors)]
    entries, data = [], b""
    for index, (name, kind) in enumerate(names):
        right = index + 2 if index + 1 < len(names) else _FREE
        if kind == 2:
            start = first_data + len(data) // _SECTOR
            fat += [start + n + 1 for n in range(7)] + [_END]
            data += name.encode().ljust(4096, b"\0")
            entries.append(_entry(name, kind, right=right, start=start, size=4096))
        else:
            entries.append(_entry(name, kind, right=right))
    root = _entry("Root Entry", 5, child=1 if names else _FREE)
    directory = (root + b"".join(entries)).ljust(directory_sectors * _SECTOR, b"\0")
    assert len(fat) <= 128, "one FAT sector is enough for a test file"
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    fat_sector = struct.pack(f"<{len(fat)}I", *fat).ljust(_SECTOR, b"\xff")
    return header + fat_sector + directory + data
