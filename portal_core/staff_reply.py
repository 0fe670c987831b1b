"""The reply box on a staff member's page of a ticket or a conversation: what they write, and to whom it goes."""

from django import forms

PUBLIC_REPLY = "public"
INTERNAL_NOTE = "internal"


class StaffReplyForm(forms.Form):
    """Mixed into an admin ModelForm: a labelled reply and a choice, public reply or internal note.

    Each app says in its subclass what each choice means for its customers and when the reply goes out.
    """

    public_reply_means = "Public reply: shown in the customer's portal"
    internal_note_means = "Internal note: seen by staff only"
    reply_when = "Added when you save."

    reply = forms.CharField(
        label="Write a reply", required=False, widget=forms.Textarea(attrs={"rows": 5, "class": "vLargeTextField"})
    )
    reply_kind = forms.ChoiceField(label="Send as", initial=PUBLIC_REPLY, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reply"].help_text = self.reply_when
        choices = [(PUBLIC_REPLY, self.public_reply_means), (INTERNAL_NOTE, self.internal_note_means)]
        self.fields["reply_kind"].choices = choices  # type: ignore[attr-defined]

    def clean_reply(self) -> str:
        # Browsers send line breaks as CR LF; the portal and emails want them once.
        return self.cleaned_data["reply"].replace("\r\n", "\n").strip()

    @property
    def is_internal_note(self) -> bool:
        return self.cleaned_data.get("reply_kind") == INTERNAL_NOTE
