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
    readonly_fields = [f.name for f in OutboxEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the selected emails again now", permissions=["view"])
    def retry_now(self, request, queryset):
        ids = list(queryset.exclude(status=OutboxEmail.Status.SENT).values_list("pk", flat=True))
        OutboxEmail.objects.filter(pk__in=ids).update(status=OutboxEmail.Status.PENDING, next_attempt_at=timezone.now())
        sent, failed = outbox_deliver(ids=ids)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Sent {sent}, failed {failed}.", level)
