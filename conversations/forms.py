from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy

from conversations.services import CheckedUpload
from conversations.text import grapheme_count
from portal_auth import ratelimit
from portal_auth.models import Customer
from portal_auth.uploads import CSV, DOC, DOCX, GIF, JPEG, PDF, PNG, XLSX, XML, validate_upload

MAX_REPLY_CHARACTERS = 10_240
MAX_ATTACHMENTS = 6
MAX_ATTACHMENT_SIZE = 3 * 1024 * 1024
ATTACHMENT_KINDS = (XLSX, CSV, DOC, DOCX, XML, PDF, GIF, JPEG, PNG)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the form, which knows the rules."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        # Empty files are refused by the form, with the file's name.
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


class ReplyForm(forms.Form):
    # No maxlength attribute: browsers count UTF-16 units, which would stop an emoji writer at half the limit.
    body = forms.CharField(
        label="Your message",
        strip=True,
        error_messages={"required": "Write your message."},
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"Up to {MAX_REPLY_CHARACTERS:,} characters.",
    )
    attachments = MultipleFileField(
        label="Attach files",
        required=False,
        help_text=format_lazy(
            "Up to {count} files of at most {size} MB each: {kinds}.",
            count=MAX_ATTACHMENTS,
            size=MAX_ATTACHMENT_SIZE // (1024 * 1024),
            kinds=", ".join(kind.name for kind in ATTACHMENT_KINDS),
        ),
        widget=MultipleFileInput(
            attrs={"accept": ",".join(ext for kind in ATTACHMENT_KINDS for ext in kind.extensions)}
        ),
    )

    def __init__(self, *args, request, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.customer = customer

    def clean_body(self):
        # Browsers send a line break as CR LF; a person counts it once.
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        length = grapheme_count(body)
        if length > MAX_REPLY_CHARACTERS:
            raise ValidationError(
                "Your message is %(length)s characters long; it may be at most %(max)s.",
                code="too_long",
                params={"length": f"{length:,}", "max": f"{MAX_REPLY_CHARACTERS:,}"},
            )
        return body

    def clean_attachments(self) -> list[CheckedUpload]:
        files = self.cleaned_data["attachments"]
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError(
                "You chose %(count)s files; you can attach at most %(max)s to one message.",
                code="too_many_files",
                params={"count": len(files), "max": MAX_ATTACHMENTS},
            )
        checked, errors = [], []
        for file in files:
            try:
                kind = validate_upload(file, allowed=ATTACHMENT_KINDS, max_size=MAX_ATTACHMENT_SIZE)
            except ValidationError as error:
                errors.append(error)
            else:
                checked.append(CheckedUpload(file=file, kind=kind))
        if errors:
            # Every broken file is named at once, so the customer fixes them in one go.
            raise ValidationError(errors)
        return checked

    def clean(self):
        ratelimit.consume("conversation_reply", self.request, key=f"customer:{self.customer.pk}")
        return self.cleaned_data
