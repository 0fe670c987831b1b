from django import forms

from portal_auth.models import Customer
from portal_core import ratelimit
from portal_core.sent_once import SentOnceForm
from portal_core.uploads import CSV, DOC, DOCX, GIF, JPEG, PDF, PNG, XLSX, AttachmentsField
from tickets.models import CUSTOMER_STATUS_CHOICES, Ticket

# No SVG or XML: both can carry scripts, and an attachment is opened from the portal's own origin.
ATTACHMENT_KINDS = (PDF, JPEG, PNG, GIF, DOCX, DOC, XLSX, CSV)
ATTACHMENT_MAX_SIZE = 10 * 1024 * 1024
ATTACHMENTS_PER_MESSAGE = 5


def attachments_field() -> AttachmentsField:
    return AttachmentsField(kinds=ATTACHMENT_KINDS, max_size=ATTACHMENT_MAX_SIZE, max_files=ATTACHMENTS_PER_MESSAGE)


class TicketFilterForm(forms.Form):
    """The list's filters: read from the query string, never an error (bad values are ignored)."""

    status = forms.ChoiceField(choices=[("", "Any status"), *CUSTOMER_STATUS_CHOICES], required=False)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Subject or ticket number"}),
    )

    def filters(self) -> dict:
        # Each filter on its own: a bad value (an old link's status, a search longer than the box takes) is ignored
        # alone, never taking the good one with it.
        self.is_valid()
        cleaned = self.cleaned_data
        return {"status": cleaned.get("status") or None, "query": cleaned.get("q") or None}


class TicketWriteForm(SentOnceForm, ratelimit.RateLimitedForm):
    """What a customer writes to support (a new ticket or a reply), counted against one rate limit."""

    rate_limit_action = "ticket_write"

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def rate_limit_key(self) -> str:
        return f"customer:{self.customer.pk}"


class ReplyForm(TicketWriteForm):
    body = forms.CharField(
        label="Your reply",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write your reply."},
    )
    attachments = attachments_field()


class NewTicketForm(TicketWriteForm):
    subject = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Give your ticket a subject."},
    )
    priority = forms.ChoiceField(
        choices=Ticket.Priority.choices,
        initial=Ticket.Priority.NORMAL,
        error_messages={"invalid_choice": "Choose a priority from the list."},
    )
    body = forms.CharField(
        label="How can we help?",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What happened, what you expected, and anything we need to look it up.",
        error_messages={"required": "Tell us how we can help."},
    )
    attachments = attachments_field()
