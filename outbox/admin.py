from django.contrib import admin, messages
from django.utils import timezone

from outbox.models import OutboxEmail
from outbox.services import outbox_deliver


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "status", "attempts", "sent_at", "organisation"]
    list_filter = ["status", "template", "organisation"]
    search_fields = ["to", "subject"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation"]
    actions = ["retry_now"]
    readonly_fields = [f.name for f in OutboxEmail._meta.fields if f.name not in ("body_text", "body_html", "secrets")]
    readonly_fields += ["text_part", "html_part"]
    exclude = ["body_text", "body_html", "secrets"]

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
        unsent = queryset.filter(status__in=[OutboxEmail.Status.PENDING, OutboxEmail.Status.FAILED])
        ids = list(unsent.values_list("pk", flat=True))
        OutboxEmail.objects.filter(pk__in=ids).update(status=OutboxEmail.Status.PENDING, next_attempt_at=timezone.now())
        sent, failed = outbox_deliver(ids=ids)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Sent {sent}, failed {failed}.", level)


def _shown(email: OutboxEmail, body: str) -> str:
    # A waiting email still holds its sign-in link; whoever read it here could sign in as the customer.
    if email.has_secrets:
        return "Hidden until sent: this email carries a sign-in link for the customer."
    return body
