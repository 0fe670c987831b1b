from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from conversations.forms import AttributesField
from conversations.models import Conversation, ConversationSettings, DisplayedAttribute, Message
from conversations.services import (
    conversation_create_by_staff,
    conversation_staff_reply,
    message_redact,
    reply_not_emailed_because,
)
from portal_auth.portals import primary_portal
from portal_core.admin import OrganisationFixedMixin, PortalModelAdmin
from portal_core.staff_reply import REPLY_SENT_ALREADY, CreatedOnceAdminMixin, ReplySentAlready, StaffReplyForm


class ConversationAdminForm(StaffReplyForm, forms.ModelForm):
    public_reply_means = "Public reply: shown in the customer's portal and emailed to them with a link"
    internal_note_means = "Internal note: seen by staff only"
    reply_when = "Sent when you save."
    customer_changed_fields = ("status",)

    class Meta:
        model = Conversation
        fields = ["organisation", "customer", "channel", "status", "subject", "attributes"]
        field_classes = {"attributes": AttributesField}

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        organisation = cleaned.get("organisation") if "organisation" in self.fields else self.instance.organisation
        customer = cleaned.get("customer")
        if organisation and customer and customer.organisation_id != organisation.pk:
            self.add_error("customer", "This customer belongs to another organisation.")
        attributes = cleaned.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            self.add_error("attributes", 'Write the attributes as an object, e.g. {"order_number": "A-1042"}.')
        return cleaned


def _author(message: Message) -> str:
    return message.author_name or (message.conversation.customer.email if message.from_customer else "Staff")


def _timeline(conversation: Conversation, *, may_redact: bool) -> list[dict]:
    """The timeline as it happened, each message with what tells a note from a reply at a glance."""
    slug = primary_portal(conversation.organisation).slug
    entries = []
    messages_in_order = conversation.messages.select_related("redacted_by", "conversation__customer")
    for message in messages_in_order.prefetch_related("attachments"):
        if message.internal:
            kind = "Internal note"
        else:
            kind = "From the customer" if message.from_customer else "Public reply"
        redacted = ""
        if message.is_redacted:
            by = f" by {message.redacted_by}" if message.redacted_by else ""
            redacted = f"Redacted on {message.redacted_at:%d %b %Y %H:%M}{by}."
        entries.append(
            {
                "pk": message.pk,
                "author": f"{_author(message)} ({'customer' if message.from_customer else 'staff'}, "
                f"{message.get_channel_display()})",
                "kind": kind,
                "internal": message.internal,
                "created_at": message.created_at,
                "body": message.body,
                "redacted": redacted,
                "attachments": [
                    (reverse("conversations:attachment", kwargs={"org": slug, "pk": a.pk}), a.original_name)
                    for a in message.attachments.all()
                ],
                "redact_url": ""
                if message.is_redacted or not may_redact
                else reverse("admin:conversations_conversation_redact", args=[conversation.pk, message.pk]),
            }
        )
    return entries


@admin.register(Conversation)
class ConversationAdmin(CreatedOnceAdminMixin, OrganisationFixedMixin, PortalModelAdmin):
    form = ConversationAdminForm
    list_display = ["__str__", "customer", "channel", "status", "last_activity_at", "organisation"]
    list_filter = ["status", "channel", "organisation"]
    search_fields = ["subject", "customer__email"]
    list_select_related = ["customer", "organisation"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_at", "last_activity_at", "external_id"]
    date_hierarchy = "last_activity_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organisation",
                    "customer",
                    "subject",
                    "channel",
                    "status",
                    "created_at",
                    "last_activity_at",
                    "external_id",
                    "shown",
                ]
            },
        ),
        ("Extra attributes", {"fields": ["attributes"]}),
        ("Reply", {"fields": ["reply", "reply_kind", "sent_once_token"]}),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            conversation_create_by_staff(conversation=obj, request_token=form.once_token)
            return
        form.keep_customer_changes(obj)
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:conversation_id>/messages/<int:message_id>/redact/",
                view(self.redact_view),
                name="conversations_conversation_redact",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        may_redact = obj is not None and self.has_change_permission(request, obj)
        context["timeline"] = _timeline(obj, may_redact=may_redact) if obj is not None and obj.pk else []
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def redact_view(self, request, conversation_id, message_id):
        """A page of its own that lists what redacting removes; only its button (a POST) removes it."""
        conversation = get_object_or_404(Conversation.objects.select_related("organisation"), pk=conversation_id)
        if not self.has_change_permission(request, conversation):
            raise PermissionDenied
        message = get_object_or_404(
            Message.objects.prefetch_related("attachments"), pk=message_id, conversation=conversation
        )
        back = reverse("admin:conversations_conversation_change", args=[conversation.pk])
        if message.is_redacted:
            self.message_user(request, "That message was redacted already.", messages.INFO)
            return redirect(back)
        if request.method == "POST":
            message_redact(message=message, staff_user=request.user)
            self.log_change(request, conversation, f"Redacted the message of {message.created_at:%d %b %Y %H:%M}.")
            self.message_user(request, "The message was redacted.", messages.SUCCESS)
            return redirect(f"{back}#message-{message.pk}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Redact this message?",
            "opts": self.opts,
            "original": conversation,
            "message": message,
            "author": _author(message),
            "attachments": list(message.attachments.all()),
            "back": back,
        }
        return TemplateResponse(request, "admin/conversations/conversation/redact_confirmation.html", context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Staff who may only read see the conversation, not a reply box they can't send.
            return [(name, options) for name, options in fieldsets if name != "Reply"]
        return fieldsets

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        body = form.cleaned_data.get("reply", "")
        if not body:
            return
        internal = form.is_internal_note
        try:
            conversation_staff_reply(
                conversation=form.instance,
                staff_user=request.user,
                body=body,
                internal=internal,
                request_token=form.once_token,
            )
        except ReplySentAlready:
            self.message_user(request, REPLY_SENT_ALREADY, messages.WARNING)
            return
        if internal:
            self.message_user(request, "Internal note added.", messages.SUCCESS)
        elif not_emailed := reply_not_emailed_because(form.instance.customer):
            self.message_user(request, f"Reply added, not emailed: {not_emailed}.", messages.WARNING)
        else:
            self.message_user(request, f"Reply sent to {form.instance.customer.email}.", messages.SUCCESS)


class DisplayedAttributeInline(admin.TabularInline):
    model = DisplayedAttribute
    extra = 1
    fields = ["position", "key", "display_name"]


@admin.register(ConversationSettings)
class ConversationSettingsAdmin(PortalModelAdmin):
    list_display = ["organisation", "customers_may_reopen"]
    list_select_related = ["organisation"]
    inlines = [DisplayedAttributeInline]

    def get_readonly_fields(self, request, obj=None):
        # One settings row per organisation: which one it belongs to is fixed once created.
        return ["organisation"] if obj else []
