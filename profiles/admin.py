from django.contrib import admin

from portal_core.admin import PortalModelAdmin
from profiles.apps import NEWS_EMAILS
from profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(PortalModelAdmin):
    """What customers entered on their profile page: read here, changed by the customers themselves."""

    list_display = ["customer", "phone", "city", "country", "language", "wants_news", "updated_at"]
    list_filter = ["customer__organisation", "language"]
    search_fields = ["customer__email", "customer__name", "phone", "postcode", "city"]
    list_select_related = ["customer"]
    readonly_fields = ["customer", "updated_at"]

    @admin.display(boolean=True, description="news and offers")
    def wants_news(self, profile: Profile) -> bool:
        return profile.customer.wants_email(NEWS_EMAILS)

    def has_add_permission(self, request, obj=None) -> bool:
        return False
