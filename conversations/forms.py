from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from conversations.models import ATTRIBUTES_UNSTORABLE, attributes_storable
from conversations.text import grapheme_count
from portal_auth.models import Customer
from portal_core import ratelimit
from portal_core.sent_once import SentOnceForm
from portal_core.uploads import CSV, DOC, DOCX, GIF, JPEG, PDF, PNG, XLSX, XML, AttachmentsField

MAX_REPLY_CHARACTERS = 10_240
# Characters as a person counts them may each hold many code points (an emoji sequence, stacked accents): the
# stored text is bounded too, within what a session keeps as a draft (portal_auth/drafts.py, MAX_DRAFT_CHARS).
MAX_REPLY_CODE_POINTS = 20_000
MAX_ATTACHMENTS = 6
MAX_ATTACHMENT_SIZE = 3 * 1024 * 1024
ATTACHMENT_KINDS = (XLSX, CSV, DOC, DOCX, XML, PDF, GIF, JPEG, PNG)


class ReplyForm(SentOnceForm, ratelimit.RateLimitedForm):
    # No maxlength attribute: browsers count UTF-16 units, which would stop an emoji writer at half the limit.
    body = forms.CharField(
        label="Your message",
        strip=True,
        error_messages={"required": "Write your message."},
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"Up to {MAX_REPLY_CHARACTERS:,} characters.",
    )
    attachments = AttachmentsField(
        kinds=ATTACHMENT_KINDS, max_size=MAX_ATTACHMENT_SIZE, max_files=MAX_ATTACHMENTS, label="Attach files"
    )

    rate_limit_action = "conversation_reply"

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def rate_limit_key(self) -> str:
        return f"customer:{self.customer.pk}"

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
        if len(body) > MAX_REPLY_CODE_POINTS:
            raise ValidationError(
                "Your message is too long: its emoji and accented letters each count as several characters. "
                "Shorten it a little, or send it in two messages.",
                code="too_long",
            )
        return body


class AttributesField(forms.JSONField):
    """A conversation's extra attributes: JSON that the database can store, shown back as typed when it can't."""

    def validate(self, value):
        super().validate(value)
        if not attributes_storable(value):
            raise ValidationError(ATTRIBUTES_UNSTORABLE, code="unstorable")

    def bound_data(self, data, initial):
        # Shown back parsed, an unpaired surrogate would be written raw into the page, which can't be encoded.
        value = super().bound_data(data, initial)
        return value if attributes_storable(value) else InvalidJSONInput(data)
