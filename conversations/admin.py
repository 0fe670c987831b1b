from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html_join

from conversations.models import Conversation, ConversationSettings, DisplayedAttribute, Message
from conversations.services import conversation_staff_reply, conversations_delete, message_redact

PUBLIC_REPLY = "public"
INTERNAL_NOTE = "internal"


class ConversationAdminForm(forms.ModelForm):
    reply = forms.CharField(
        label="Write a reply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Sent when you save.",
    )
    reply_kind = forms.ChoiceField(
        label="Send as",
        choices=[
            (PUBLIC_REPLY, "Public reply: shown in the customer's portal and emailed to them with a link"),
            (INTERNAL_NOTE, "Internal note: seen by staff only"),
        ],
        initial=PUBLIC_REPLY,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Conversation
        fields = ["organisation", "customer", "channel", "status", "subject", "attributes"]

    def clean_reply(self):
        # Browsers send line breaks as CR LF; the portal and emails want them once.
        return self.cleaned_data["reply"].replace("\r\n", "\n").strip()

    def clean(self):
        cleaned = super().clean()
        organisation, customer = cleaned.get("organisation"), cleaned.get("customer")
        if organisation and customer and customer.organisation_id != organisation.pk:
            self.add_error("customer", "This customer belongs to another organisation.")
        attributes = cleaned.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            self.add_error("attributes", 'Write the attributes as an object, e.g. {"order_number": "A-1042"}.')
        return cleaned


class MessageInlineForm(forms.ModelForm):
    redact = forms.BooleanField(required=False, help_text="Removes the text and attachments for good, when you save.")

    class Meta:
        model = Message
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.is_redacted:
            self.fields["redact"].disabled = True
            self.fields["redact"].help_text = "Already redacted."


class MessageInline(admin.TabularInline):
    """The timeline as it happened; staff add to it with the reply box above, not here."""

    model = Message
    form = MessageInlineForm
    extra = 0
    can_delete = False
    verbose_name_plural = "timeline"
    fields = ["created_at", "sender", "channel", "internal", "text", "attachment_links", "redact"]
    readonly_fields = ["created_at", "sender", "channel", "internal", "text", "attachment_links"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("redacted_by", "conversation__organisation")
            .prefetch_related("attachments")
        )

    @admin.display(description="From")
    def sender(self, message):
        return f"{message.author_name} ({'customer' if message.from_customer else 'staff'})"

    @admin.display(description="Text")
    def text(self, message):
        if message.is_redacted:
            by = f" by {message.redacted_by}" if message.redacted_by else ""
            return f"Redacted on {message.redacted_at:%d %b %Y %H:%M}{by}."
        return message.body

    @admin.display(description="Attachments")
    def attachment_links(self, message):
        slug = message.conversation.organisation.slug
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("conversations:attachment", kwargs={"org": slug, "pk": a.pk}), a.original_name)
                    for a in message.attachments.all()
                ),
            )
            or "—"
        )


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationAdminForm
    list_display = ["__str__", "customer", "channel", "status", "last_activity_at", "organisation"]
    list_filter = ["status", "channel", "organisation"]
    search_fields = ["subject", "customer__email"]
    list_select_related = ["customer", "organisation"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_at", "last_activity_at"]
    date_hierarchy = "last_activity_at"
    inlines = [MessageInline]
    fieldsets = [
        (
            None,
            {"fields": ["organisation", "customer", "subject", "channel", "status", "created_at", "last_activity_at"]},
        ),
        ("Extra attributes", {"fields": ["attributes"]}),
        ("Reply", {"fields": ["reply", "reply_kind"]}),
    ]

    def delete_model(self, request, obj):
        conversations_delete(conversations=Conversation.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        conversations_delete(conversations=queryset)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Message:
            return super().save_formset(request, form, formset, change)
        # Messages are never edited here: the only change staff can make is to redact one. Saving
        # without commit writes nothing but tells the admin's history which messages were redacted.
        formset.save(commit=False)
        for message_form in formset.forms:
            if message_form.cleaned_data.get("redact") and not message_form.instance.is_redacted:
                message_redact(message=message_form.instance, staff_user=request.user)
                self.message_user(request, "The message was redacted.", messages.SUCCESS)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        body = form.cleaned_data.get("reply", "")
        if not body:
            return
        internal = form.cleaned_data.get("reply_kind") == INTERNAL_NOTE
        conversation_staff_reply(conversation=form.instance, staff_user=request.user, body=body, internal=internal)
        if internal:
            self.message_user(request, "Internal note added.", messages.SUCCESS)
        else:
            self.message_user(request, f"Reply sent to {form.instance.customer.email}.", messages.SUCCESS)


class DisplayedAttributeInline(admin.TabularInline):
    model = DisplayedAttribute
    extra = 1
    fields = ["position", "key", "display_name"]


@admin.register(ConversationSettings)
class ConversationSettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "customers_may_reopen"]
    list_select_related = ["organisation"]
    inlines = [DisplayedAttributeInline]

    def get_readonly_fields(self, request, obj=None):
        # One settings row per organisation: which one it belongs to is fixed once created.
        return ["organisation"] if obj else []
