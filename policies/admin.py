from django.contrib import admin
from django.utils.html import format_html

from policies.forms import PolicyAdminForm
from policies.models import CompanyInformation, Policy
from portal_core.admin import OrganisationFixedMixin, PortalModelAdmin


@admin.register(Policy)
class PolicyAdmin(PortalModelAdmin):
    form = PolicyAdminForm
    list_display = ["title", "organisation", "kind", "slug", "order", "updated_at"]
    list_filter = ["organisation", "kind"]
    search_fields = ["title", "slug", "organisation__name"]
    fields = ["organisation", "kind", "title", "slug", "order", "body", "preview"]
    readonly_fields = ["preview"]

    class Media:
        css = {"all": ["portal_admin/policy_preview.css"]}

    @admin.display(description="As customers see it")
    def preview(self, policy: Policy) -> str:
        if not policy.pk:
            return "Shown once the page is saved."
        return format_html('<div class="policy-preview">{}</div>', policy.html)


@admin.register(CompanyInformation)
class CompanyInformationAdmin(OrganisationFixedMixin, PortalModelAdmin):
    # The organisation is the row's key: choosing another on a change page would overwrite that one's details.
    list_display = ["legal_name", "organisation", "company_number", "vat_number"]
    search_fields = ["legal_name", "organisation__name"]
