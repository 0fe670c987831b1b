"""What customers may attach to a ticket: the kinds and sizes booking documents accept, judged by content."""

from django.core.files.uploadedfile import UploadedFile

from portal_auth.uploads import CSV, DOC, DOCX, GIF, JPEG, PDF, PNG, XLSX, FileKind, validate_upload

# No SVG or XML: both can carry scripts, and an attachment is opened from the portal's own origin.
ATTACHMENT_KINDS = (PDF, JPEG, PNG, GIF, DOCX, DOC, XLSX, CSV)
ATTACHMENT_MAX_SIZE = 10 * 1024 * 1024
ATTACHMENTS_PER_MESSAGE = 5


def attachment_kind(upload: UploadedFile) -> FileKind:
    return validate_upload(upload, allowed=ATTACHMENT_KINDS, max_size=ATTACHMENT_MAX_SIZE)
