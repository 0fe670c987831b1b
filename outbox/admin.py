from django.contrib import admin, messages

from outbox.models import OutboxEmail
from outbox.services import outbox_requeue
from portal_core.admin import PortalModelAdmin, SecretLookupsRefusedMixin

# A waiting email's parts may hold its sign-in link: they are shown through _shown() only.
PARTS_WITH_LINKS = ("body_text", "body_html", "secrets")


@admin.register(OutboxEmail)
class OutboxEmailAdmin(SecretLookupsRefusedMixin, PortalModelAdmin):
    list_display = ["created_at", "to", "subject", "status", "attempts", "sent_at", "organisation"]
    # Millions of rows: a date filter that needs no scan of the table, and no second count of all of it.
    list_filter = ["status", "template", "organisation", "created_at"]
    show_full_result_count = False
    search_fields = ["to", "subject"]
    list_select_related = ["organisation"]
    actions = ["retry_now"]
    secret_fields = PARTS_WITH_LINKS
    readonly_fields = [f.name for f in OutboxEmail._meta.fields if f.name not in PARTS_WITH_LINKS]
    readonly_fields += ["text_part", "html_part"]
    exclude = list(PARTS_WITH_LINKS)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Text part")
    def text_part(self, email):
        return _shown(email, email.body_text)

    @admin.display(description="HTML part (source)")
    def html_part(self, email):
        return _shown(email, email.body_html)

    @admin.action(description="Send the selected emails again now", permissions=["change"])
    def retry_now(self, request, queryset):
        # Queued, not sent here: hundreds of emails to a slow mail server would keep staff waiting for minutes.
        selected = list(queryset.values_list("pk", flat=True))
        queued = outbox_requeue(ids=selected)
        skipped = len(selected) - queued
        message = f"Queued {queued} email{'s' if queued != 1 else ''} to be sent now."
        if skipped:
            message += f" {skipped} already sent, being sent or cancelled were left alone."
        self.message_user(request, message, messages.SUCCESS if queued else messages.WARNING)


def _shown(email: OutboxEmail, body: str) -> str:
    # A waiting email still holds its sign-in link; whoever read it here could sign in as the customer.
    if email.has_secrets:
        return "Hidden until sent: this email carries a sign-in link for the customer."
    return body
