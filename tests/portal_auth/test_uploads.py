from types import SimpleNamespace

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from portal_auth.uploads import (
    JPEG,
    PDF,
    PNG,
    AttachmentsField,
    download_response,
    files_removed_unless_committed,
    size_label,
)

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
