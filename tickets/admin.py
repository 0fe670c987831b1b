from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from portal_auth.models import Organisation
from portal_auth.uploads import stored_file_download
from tickets.models import Company, Ticket, TicketAttachment, TicketMessage, TicketSettings
from tickets.reports import portal_usage
from tickets.services import (
    ticket_portal_link_send,
    ticket_portal_links_send,
    ticket_save_by_staff,
    ticket_staff_messages_publish,
    tickets_delete,
)


@admin.register(TicketSettings)
class TicketSettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "customer_access", "link_on_staff_ticket"]
    list_select_related = ["organisation"]


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["organisation", "name", "members"]

    def clean(self):
        cleaned = super().clean()
        organisation = cleaned.get("organisation")
        strangers = [
            m.email for m in cleaned.get("members") or [] if organisation and m.organisation_id != organisation.pk
        ]
        if strangers:
            self.add_error("members", f"Not customers of {organisation}: {', '.join(strangers)}.")
        return cleaned


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    autocomplete_fields = ["members"]
    list_select_related = ["organisation"]
    form = CompanyAdminForm


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = ["organisation", "requester", "company", "subject", "status", "priority", "assigned_agent"]

    def clean(self):
        cleaned = super().clean()
        organisation = cleaned.get("organisation")
        for field in ("requester", "company"):
            value = cleaned.get(field)
            if organisation and value and value.organisation_id != organisation.pk:
                self.add_error(field, ValidationError("Choose one of this organisation's.", code="other_organisation"))
        return cleaned


class TicketMessageForm(forms.ModelForm):
    class Meta:
        model = TicketMessage
        fields = ["body", "internal"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}


class TicketMessageInline(admin.TabularInline):
    """The conversation. Sent messages stay as sent: staff add public replies and internal notes below."""

    model = TicketMessage
    form = TicketMessageForm
    extra = 1
    fields = ["body", "internal", "author", "created_at", "files"]
    readonly_fields = ["author", "created_at", "files"]
    verbose_name = "message"
    verbose_name_plural = "conversation (public replies are emailed to the requester; internal notes never are)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author_customer", "author_staff")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Author")
    def author(self, message):
        if message.author_customer_id:
            return f"{message.author_customer.email} (customer)"
        return message.author_staff.get_username() if message.author_staff_id else "—"

    @admin.display(description="Attachments")
    def files(self, message):
        if not message.pk:
            return "—"
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:tickets_ticket_attachment", args=[a.pk]), a.name) for a in message.attachments.all()),
        )
        return links or "—"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = ["number", "subject", "requester", "status", "priority", "assigned_agent", "updated_at"]
    list_display_links = ["number", "subject"]
    list_filter = ["status", "priority", ("assigned_agent", admin.RelatedOnlyFieldListFilter), "organisation"]
    search_fields = ["=number", "subject", "requester__email"]
    list_select_related = ["requester", "assigned_agent"]
    autocomplete_fields = ["requester", "company"]
    readonly_fields = ["number", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organisation", "number", "subject", "requester", "company"]}),
        (None, {"fields": ["status", "priority", "assigned_agent", "created_at", "updated_at"]}),
    ]
    inlines = [TicketMessageInline]
    actions = ["send_portal_links"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("portal-usage/", view(self.portal_usage_view), name="tickets_ticket_portal_usage"),
            path(
                "<int:ticket_id>/send-portal-link/",
                view(self.send_portal_link_view),
                name="tickets_ticket_send_portal_link",
            ),
            path(
                "attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="tickets_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def delete_model(self, request, obj):
        tickets_delete(tickets=Ticket.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        tickets_delete(tickets=queryset)

    def save_model(self, request, obj, form, change):
        ticket_save_by_staff(ticket=obj, created=not change, changed_fields=form.changed_data)

    def save_formset(self, request, form, formset, change):
        if formset.model is not TicketMessage:
            return super().save_formset(request, form, formset, change)
        for message in formset.save(commit=False):
            message.author_staff = request.user
            message.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        new_messages = [m for formset in formsets if formset.model is TicketMessage for m in formset.new_objects]
        ticket_staff_messages_publish(
            ticket=form.instance, messages=new_messages, staff_user=request.user, created=not change, request=request
        )

    @admin.action(description="Send a portal link to the requesters of the selected tickets", permissions=["change"])
    def send_portal_links(self, request, queryset):
        sent = ticket_portal_links_send(
            tickets=queryset.select_related("organisation", "requester__organisation"),
            staff_user=request.user,
            request=request,
        )
        self.message_user(request, f"Sent {sent} portal link{'s' if sent != 1 else ''}.", messages.SUCCESS)

    def send_portal_link_view(self, request, ticket_id):
        ticket = get_object_or_404(
            Ticket.objects.select_related("organisation", "requester__organisation"), pk=ticket_id
        )
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:tickets_ticket_change", ticket.pk)
        token = ticket_portal_link_send(ticket=ticket, staff_user=request.user, request=request)
        self.message_user(
            request,
            f"Portal link to ticket #{ticket.number} emailed to {ticket.requester.email}; "
            f"it works until {token.expires_at:%d %b %Y}.",
            messages.SUCCESS,
        )
        return redirect("admin:tickets_ticket_change", ticket.pk)

    def attachment_view(self, request, attachment_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        attachment = get_object_or_404(TicketAttachment, pk=attachment_id)
        return stored_file_download(attachment.file, filename=attachment.name, content_type=attachment.content_type)

    def portal_usage_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        chosen = request.GET.get("organisation", "")
        organisation = Organisation.objects.filter(pk=chosen).first() if chosen.isdigit() else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Portal usage",
            "opts": self.opts,
            "organisations": Organisation.objects.order_by("name"),
            "chosen": organisation,
            "usage": portal_usage(organisation=organisation),
        }
        return TemplateResponse(request, "admin/tickets/portal_usage.html", context)
