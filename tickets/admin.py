from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from portal_auth.doors.access_link.services import AccessLinksClosed, CustomerDeactivated
from portal_core.admin import OrganisationFixedMixin, PortalModelAdmin
from portal_core.origin import ClientOrigin
from portal_core.staff_reply import REPLY_SENT_ALREADY, CreatedOnceAdminMixin, ReplySentAlready, StaffReplyForm
from portal_core.uploads import stored_file_download
from tickets.models import Company, Ticket, TicketAttachment, TicketSettings
from tickets.services import (
    ticket_portal_link_send,
    ticket_portal_links_send,
    ticket_save_by_staff,
    ticket_staff_reply,
)


@admin.register(TicketSettings)
class TicketSettingsAdmin(PortalModelAdmin):
    list_display = ["organisation", "customer_access", "link_on_staff_ticket"]
    list_select_related = ["organisation"]


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["organisation", "name", "members"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        organisation = cleaned.get("organisation")
        strangers = [
            m.email for m in cleaned.get("members") or [] if organisation and m.organisation_id != organisation.pk
        ]
        if strangers:
            self.add_error("members", f"Not customers of {organisation}: {', '.join(strangers)}.")
        return cleaned


@admin.register(Company)
class CompanyAdmin(PortalModelAdmin):
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    autocomplete_fields = ["members"]
    list_select_related = ["organisation"]
    form = CompanyAdminForm


class TicketAdminForm(StaffReplyForm, forms.ModelForm):
    public_reply_means = "Public reply: shown in the requester's portal and emailed to them"
    internal_note_means = "Internal note: seen by staff only, never emailed"
    reply_when = "Added to the conversation when you save."
    customer_changed_fields = ("status",)

    class Meta:
        model = Ticket
        fields = ["organisation", "requester", "company", "subject", "status", "priority", "assigned_agent"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        organisation = cleaned.get("organisation") if "organisation" in self.fields else self.instance.organisation
        for field in ("requester", "company"):
            value = cleaned.get(field)
            if organisation and value and value.organisation_id != organisation.pk:
                self.add_error(field, ValidationError("Choose one of this organisation's.", code="other_organisation"))
        return cleaned


def _timeline(ticket: Ticket) -> list[dict]:
    """The conversation as staff read it, each message with what tells a note from a reply at a glance."""
    entries = []
    for message in ticket.messages.select_related("author_customer", "author_staff").prefetch_related("attachments"):
        if message.author_customer is not None:
            author, kind = message.author_customer.name or message.author_customer.email, "From the requester"
        else:
            staff = message.author_staff
            author = (staff.get_full_name() or staff.get_username()) if staff else "Staff"
            kind = "Internal note" if message.internal else "Public reply"
        entries.append(
            {
                "pk": message.pk,
                "author": author,
                "kind": kind,
                "internal": message.internal,
                "created_at": message.created_at,
                "body": message.body,
                "attachments": [
                    (reverse("admin:tickets_ticket_attachment", args=[a.pk]), a.original_name)
                    for a in message.attachments.all()
                ],
            }
        )
    return entries


@admin.register(Ticket)
class TicketAdmin(CreatedOnceAdminMixin, OrganisationFixedMixin, PortalModelAdmin):
    form = TicketAdminForm
    list_display = ["number", "subject", "requester", "status", "priority", "assigned_agent", "updated_at"]
    list_display_links = ["number", "subject"]
    list_filter = ["status", "priority", ("assigned_agent", admin.RelatedOnlyFieldListFilter), "organisation"]
    search_fields = ["=number", "subject", "requester__email"]
    list_select_related = ["requester", "assigned_agent"]
    show_full_result_count = False  # a second count of every ticket on each filtered view
    # Newest first, read off the primary key's index. In the customers' order (last update, every organisation's
    # million tickets) each page would sort them all; and an index in that order tempts PostgreSQL's generic plan
    # of a customer's list to walk every ticket looking for the few of a company they don't have (seconds a page).
    ordering = ["-id"]
    autocomplete_fields = ["requester", "company"]
    readonly_fields = ["number", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["organisation", "number", "subject", "requester", "company"]}),
        (None, {"fields": ["status", "priority", "assigned_agent", "created_at", "updated_at", "shown"]}),
        ("Reply", {"fields": ["reply", "reply_kind", "sent_once_token"]}),
    ]
    actions = ["send_portal_links"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
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

    def save_model(self, request, obj, form, change):
        untouched = form.keep_customer_changes(obj) if change else []
        changed = [name for name in form.changed_data if name not in untouched]
        ticket_save_by_staff(ticket=obj, created=not change, changed_fields=changed, request_token=form.once_token)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Staff who may only read see the conversation, not a reply box they can't send.
            return [(name, options) for name, options in fieldsets if name != "Reply"]
        return fieldsets

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        body = form.cleaned_data.get("reply", "")
        internal = form.is_internal_note
        try:
            not_emailed = ticket_staff_reply(
                ticket=form.instance,
                staff_user=request.user,
                body=body,
                internal=internal,
                created=not change,
                origin=ClientOrigin.from_request(request),
                request_token=form.once_token,
            )
        except ReplySentAlready:
            self.message_user(request, REPLY_SENT_ALREADY, messages.WARNING)
            return
        if body and internal:
            self.message_user(request, "Internal note added.", messages.SUCCESS)
        elif body and not_emailed:
            self.message_user(request, f"Reply added to the ticket, not emailed: {not_emailed}.", messages.WARNING)
        elif body:
            self.message_user(request, f"Reply emailed to {form.instance.requester.email}.", messages.SUCCESS)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["timeline"] = _timeline(obj) if obj is not None and obj.pk else []
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.action(description="Send a portal link to the requesters of the selected tickets", permissions=["change"])
    def send_portal_links(self, request, queryset):
        sent = ticket_portal_links_send(
            tickets=queryset.select_related("organisation", "requester__organisation"),
            staff_user=request.user,
            origin=ClientOrigin.from_request(request),
        )
        self.message_user(request, f"Sent {sent} portal link{'s' if sent != 1 else ''}.", messages.SUCCESS)
        deactivated = queryset.filter(requester__is_active=False).count()
        if deactivated:
            self.message_user(
                request,
                f"{deactivated} ticket{'s' if deactivated != 1 else ''} got no link: the requester is deactivated.",
                messages.WARNING,
            )
        if closed := queryset.count() - sent - deactivated:
            self.message_user(
                request,
                f"{closed} ticket{'s' if closed != 1 else ''} got no link: their organisation has closed emailed "
                "sign-in links (Organisation › Ways to sign in).",
                messages.WARNING,
            )

    def send_portal_link_view(self, request, ticket_id):
        ticket = get_object_or_404(
            Ticket.objects.select_related("organisation", "requester__organisation"), pk=ticket_id
        )
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:tickets_ticket_change", ticket.pk)
        try:
            token = ticket_portal_link_send(
                ticket=ticket, staff_user=request.user, origin=ClientOrigin.from_request(request)
            )
        except AccessLinksClosed:
            self.message_user(
                request,
                f"No link sent: {ticket.organisation.public_name} has closed emailed sign-in links "
                "(Organisation › Ways to sign in).",
                messages.ERROR,
            )
            return redirect("admin:tickets_ticket_change", ticket.pk)
        except CustomerDeactivated as refused:
            self.message_user(request, f"No link sent: {refused}", messages.ERROR)
            return redirect("admin:tickets_ticket_change", ticket.pk)
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
        return stored_file_download(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )
