from django import forms
from django.core.exceptions import ValidationError

from tickets.models import Ticket
from tickets.uploads import ATTACHMENT_KINDS, ATTACHMENTS_PER_MESSAGE, attachment_kind

ACCEPT = ",".join(extension for kind in ATTACHMENT_KINDS for extension in kind.extensions)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input, each checked by its content."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kinds = ", ".join(kind.name for kind in ATTACHMENT_KINDS)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Attachments")
        kwargs.setdefault("help_text", f"Up to {ATTACHMENTS_PER_MESSAGE} files of 10 MB each: {kinds}.")
        super().__init__(**kwargs)
        self.widget.attrs.update({"multiple": True, "accept": ACCEPT})

    def clean(self, data, initial=None):
        files = [file for file in (data if isinstance(data, list | tuple) else [data]) if file]
        if len(files) > ATTACHMENTS_PER_MESSAGE:
            raise ValidationError(
                "Attach at most %(max)d files to one message.",
                code="too_many",
                params={"max": ATTACHMENTS_PER_MESSAGE},
            )
        errors = []
        for file in files:
            super().clean(file, initial)
            try:
                attachment_kind(file)
            except ValidationError as error:
                errors.extend(error.error_list)
        if errors:
            raise ValidationError(errors)
        return files


class TicketFilterForm(forms.Form):
    """The list's filters: read from the query string, never an error (bad values are ignored)."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Ticket.Status.choices], required=False)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Subject or ticket number"}),
    )

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {"status": self.cleaned_data["status"] or None, "query": self.cleaned_data["q"] or None}


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", max_length=20_000, widget=forms.Textarea(attrs={"rows": 5}))
    attachments = AttachmentsField()


class NewTicketForm(forms.Form):
    subject = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL)
    body = forms.CharField(
        label="How can we help?",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What happened, what you expected, and anything we need to look it up.",
    )
    attachments = AttachmentsField()
