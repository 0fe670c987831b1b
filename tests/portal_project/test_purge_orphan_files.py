import os
import time
from io import StringIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from bookings.models import BookingDocument
from tests.bookings.factories import BookingFactory

PDF = b"%PDF-1.4\n%%EOF\n"


def _age(name: str, hours: int) -> None:
    path = default_storage.path(name)
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def _purge(*args) -> str:
    out = StringIO()
    call_command("purge_orphan_files", *args, stdout=out)
    return out.getvalue()


def test_files_no_row_refers_to_are_deleted_once_old_enough(customer):
    booking = BookingFactory(organisation=customer.organisation)
    kept = BookingDocument(
        booking=booking,
        uploaded_by=customer,
        original_name="passport.pdf",
        content_type="application/pdf",
        size=len(PDF),
    )
    kept.file.save("passport.pdf", ContentFile(PDF))
    old_orphan = default_storage.save("bookings/9/gone/scan.pdf", ContentFile(PDF))
    new_orphan = default_storage.save("tickets/9/in-flight/upload.pdf", ContentFile(PDF))
    for name in (kept.file.name, old_orphan):
        _age(name, 48)

    assert "Would delete bookings/9/gone/scan.pdf" in _purge("--dry-run")
    assert default_storage.exists(old_orphan)

    output = _purge()
    assert "1 orphan file deleted." in output
    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(kept.file.name)  # still referenced
    assert default_storage.exists(new_orphan)  # too young: perhaps an upload being saved


def test_before_the_first_upload_there_is_nothing_to_purge(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "no-uploads-yet")
    assert not default_storage.exists("")

    assert "0" in _purge("--dry-run")
