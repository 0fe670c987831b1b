from http import HTTPStatus

from adminsortable2.admin import SortableAdminBase, SortableInlineAdminMixin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from portal_auth.api_keys import api_key_revoke
from portal_auth.doors.access_link.services import access_links_revoke
from portal_auth.doors.registry import door_choices, door_keys_in_order, open_doors
from portal_auth.models import (
    AccessEvent,
    ApiCall,
    ApiKey,
    Customer,
    CustomerToken,
    Organisation,
    Portal,
    PortalSection,
)
from portal_auth.portal_forms import PortalAdminForm
from portal_auth.reports import portal_usage
from portal_auth.services import customer_email_set_by_staff
from portal_core.admin import OrganisationFixedMixin, PortalModelAdmin, SecretLookupsRefusedMixin, fixed_choices_filter
from portal_core.origin import ClientOrigin
from portal_core.staff_reply import CustomerChangesKeptForm

EXTERNAL_SIGN_ON_SECRETS = [
    "external_sign_on_secret_id",
    "external_sign_on_secret",
    "external_sign_on_previous_secret_id",
    "external_sign_on_previous_secret",
]
# Shown instead of the secrets to staff who may view organisations but not change them.
MASKED_SECRETS = {
    "external_sign_on_secret": "external_sign_on_secret_masked",
    "external_sign_on_previous_secret": "external_sign_on_previous_secret_masked",
}


def _masked_secret(field_name: str):
    """A read-only display of a sign-on secret that shows only its end, enough to tell two secrets apart."""

    @admin.display(description=str(Organisation._meta.get_field(field_name).verbose_name))  # type: ignore[union-attr]
    def display(model_admin, organisation):
        secret = getattr(organisation, field_name)
        return f"••••…{secret[-4:]}" if secret else None

    return display


class OrganisationAdminForm(forms.ModelForm):
    doors = forms.MultipleChoiceField(
        label="Ways to sign in",
        choices=door_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Organisation._meta.get_field("doors").help_text,
    )
    rotate_external_sign_on_secret = forms.BooleanField(
        label="Generate / rotate custom sign-on secret",
        required=False,
        help_text="On save: a new secret; the current one stays valid as the previous secret until the next rotation.",
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if "doors" in cleaned:
            cleaned["doors"] = door_keys_in_order(cleaned["doors"])
        # Before model validation, so sign-on can be turned on and given its first secret in one save.
        if cleaned.get("rotate_external_sign_on_secret") and not self.errors:
            self.instance.rotate_external_sign_on_secret()
        return cleaned


@admin.register(Organisation)
class OrganisationAdmin(SecretLookupsRefusedMixin, PortalModelAdmin):
    form = OrganisationAdminForm
    secret_fields = tuple(MASKED_SECRETS)
    list_display = ["name", "slug", "requires_sign_in", "session_lifetime", "doors_open"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", *EXTERNAL_SIGN_ON_SECRETS, *MASKED_SECRETS.values()]
    actions = ["rotate_external_sign_on_secrets"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "created_at"]}),
        ("Branding", {"fields": ["display_name", "time_zone"]}),
        (
            "Sign-in",
            {
                "fields": [
                    "doors",
                    "requires_sign_in",
                    "notification_links_sign_in",
                    "redirect_confirms",
                    "session_lifetime",
                ]
            },
        ),
        ("Support contact shown to customers", {"fields": ["support_email", "support_phone", "support_url"]}),
        (
            "Custom sign-on",
            {
                "classes": ["collapse"],
                "description": "Open it with “Custom sign-on” under Ways to sign in.",
                "fields": [
                    "external_sign_on_url",
                    "rotate_external_sign_on_secret",
                    *EXTERNAL_SIGN_ON_SECRETS,
                ],
            },
        ),
    ]

    external_sign_on_secret_masked = _masked_secret("external_sign_on_secret")

    @admin.display(description="Ways to sign in")
    def doors_open(self, organisation):
        return ", ".join(door.key.replace("_", " ") for door in open_doors(organisation)) or "none"

    external_sign_on_previous_secret_masked = _masked_secret("external_sign_on_previous_secret")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets

        # Whoever may only look at the organisation must not be able to sign tokens for its customers. The
        # rotate box goes too: shown read-only, the admin would call the model's method of that name.
        def view_only(fields):
            return [MASKED_SECRETS.get(f, f) for f in fields if f != "rotate_external_sign_on_secret"]

        return [(name, {**options, "fields": view_only(options["fields"])}) for name, options in fieldsets]

    @admin.action(description="Generate / rotate custom sign-on secret", permissions=["change"])
    def rotate_external_sign_on_secrets(self, request, queryset):
        for organisation in queryset:
            organisation.rotate_external_sign_on_secret()
            organisation.save(update_fields=EXTERNAL_SIGN_ON_SECRETS)
        self.message_user(request, f"New custom sign-on secret for {len(queryset)} organisation(s).", messages.SUCCESS)


class PortalSectionForm(forms.ModelForm):
    """A section's row: dragged into place where JavaScript runs, or given its place by number where it doesn't."""

    place = forms.IntegerField(
        label="Place", min_value=1, required=False, help_text="Drag the rows, or number them: lowest first."
    )

    class Meta:
        model = PortalSection
        fields = ["enabled", "hide_when_empty", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].initial = self.instance.position if self.instance.pk else None

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        place = cleaned.get("place")
        # A number typed in wins over the hidden order the drag-and-drop keeps (which then has not moved).
        if place is not None and place != self.fields["place"].initial:
            cleaned["position"] = place
            self.instance.position = place
        return cleaned


class PortalSectionInline(SortableInlineAdminMixin, admin.TabularInline):
    model = PortalSection
    form = PortalSectionForm
    fields = ["key", "enabled", "hide_when_empty", "place", "position"]
    # A portal keeps one row per installed section itself (Portal.sections_complete): which section a row is can't
    # be changed, and rows are neither added nor removed here.
    readonly_fields = ["key"]
    extra = 0
    can_delete = False
    # The library's template for the newest Django it names; the admin markup it extends is unchanged since.
    template = "adminsortable2/edit_inline/tabular-django-6.0.html"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Portal)
class PortalAdmin(SortableAdminBase, OrganisationFixedMixin, PortalModelAdmin):
    form = PortalAdminForm
    list_display = ["name", "slug", "organisation", "is_primary"]
    list_filter = ["organisation"]
    search_fields = ["name", "slug", "organisation__name"]
    list_select_related = ["organisation"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [PortalSectionInline]
    fieldsets = [
        (None, {"fields": ["organisation", "name", "slug", "is_primary", "created_at"]}),
        (
            "Look",
            {
                "description": "Buttons show their text in the second colour on the first: the pair must contrast "
                "at 4.5:1 or more (WCAG AA).",
                "fields": ["accent_colour", "accent_text_colour", "logo", "favicon"],
            },
        ),
    ]

    def get_object(self, request, object_id, from_field=None):
        portal = super().get_object(request, object_id, from_field)
        if portal is not None:
            # A section installed after the portal was made gets its row, so staff can place it.
            portal.sections_complete()
        return portal

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.section_layout_refresh()

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # The primary portal is where emails lead: another is made primary first. It goes only with its organisation,
        # whose deletion asks this admin whether the portal may be deleted (has_delete_permission), not this.
        primaries = [
            f"{portal}: the primary portal, where emails lead (make another portal primary first)"
            for portal in objs
            if portal.is_primary
        ]
        return deleted, counts, perms_needed, [*protected, *primaries]


class CustomerAdminForm(CustomerChangesKeptForm, forms.ModelForm):
    # The customer changes these on their profile (an address only once they confirm it).
    customer_changed_fields = ("email", "name")


@admin.register(Customer)
class CustomerAdmin(SecretLookupsRefusedMixin, OrganisationFixedMixin, PortalModelAdmin):
    list_display = ["email", "name", "external_id", "organisation", "has_password", "last_sign_in_at", "is_active"]
    list_filter = ["organisation", "is_active", ("last_sign_in_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "name", "external_id"]
    list_select_related = ["organisation"]
    # The customer chooses their optional emails on their profile page; staff read the choices.
    readonly_fields = ["password_changed_at", "last_sign_in_at", "created_at", "session_version", "email_choices"]
    form = CustomerAdminForm
    exclude = ["password"]
    secret_fields = ("password",)
    actions = ["revoke_access_links"]

    @admin.display(boolean=True, description="Password")
    def has_password(self, customer):
        return customer.has_password

    def save_model(self, request, obj, form, change):
        untouched = form.keep_customer_changes(obj) if change else []
        super().save_model(request, obj, form, change)
        if change and "email" in form.changed_data and "email" not in untouched:
            # Bookings follow the address: what the old one opened (sessions, links, codes) must not reach them.
            customer_email_set_by_staff(
                customer=obj,
                old_email=form.initial["email"],
                staff_user=request.user,
                origin=ClientOrigin.from_request(request),
            )

    @admin.action(
        description="Revoke portal links of the selected customers (ends their portal sessions)", permissions=["change"]
    )
    def revoke_access_links(self, request, queryset):
        customers, origin = list(queryset.select_related("organisation")), ClientOrigin.from_request(request)
        revoked = sum(access_links_revoke(customer=c, staff_user=request.user, origin=origin) for c in customers)
        self.message_user(request, f"Revoked {revoked} portal link(s) of {len(customers)} customer(s).")


@admin.register(CustomerToken)
class CustomerTokenAdmin(PortalModelAdmin):
    """Tokens are listed without their secret, which is never stored."""

    list_display = ["customer", "purpose", "created_at", "expires_at", "used_at", "revoked_at", "created_by"]
    list_filter = ["purpose", "organisation"]
    search_fields = ["customer__email"]
    list_select_related = ["customer", "created_by"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccessEvent)
class AccessEventAdmin(PortalModelAdmin):
    list_display = ["created_at", "kind", "email", "method", "reason", "ip", "staff_user", "organisation"]
    # Millions of rows: filters that need no scan of the table, and no second count of all of it.
    list_filter = [
        "kind",
        fixed_choices_filter("method", "method", door_choices()),
        "organisation",
        "created_at",
    ]
    show_full_result_count = False
    # The reason holds what a refused look asked for ("ticket 42"), so staff can find every try at one thing.
    search_fields = ["email", "customer__email", "ip", "reason"]
    list_select_related = ["organisation", "staff_user"]
    readonly_fields = [f.name for f in AccessEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "portal-usage/",
                self.admin_site.admin_view(self.portal_usage_view),
                name="portal_auth_accessevent_portal_usage",
            ),
            *super().get_urls(),
        ]

    def portal_usage_view(self, request):
        # The report is a summary of access events: whoever may read them may read it.
        if not self.has_view_permission(request):
            raise PermissionDenied
        chosen = request.GET.get("organisation", "")
        organisation = Organisation.objects.filter(pk=chosen).first() if chosen.isascii() and chosen.isdigit() else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Portal usage",
            "opts": self.opts,
            "organisations": Organisation.objects.order_by("name"),
            "chosen": organisation,
            "usage": portal_usage(organisation=organisation),
        }
        return TemplateResponse(request, "admin/portal_auth/portal_usage.html", context)


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["organisation", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(OrganisationFixedMixin, PortalModelAdmin):
    """Keys are made here or with `create_api_key`, shown once, and never stored but as a hash."""

    form = ApiKeyAdminForm
    list_display = ["name", "organisation", "key_start", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organisation", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "public_id"]
    list_select_related = ["organisation"]
    readonly_fields = ["key_start", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="Key starts")
    def key_start(self, key):
        return f"{ApiKey.PREFIX}_{key.public_id}_…" if key.public_id else "-"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, raw = ApiKey.prepare(organisation=obj.organisation, name=obj.name, created_by=request.user)
        obj.public_id, obj.secret_hash, obj.created_by = key.public_id, key.secret_hash, request.user
        super().save_model(request, obj, form, change)
        self.message_user(request, f"The new API key, shown this once (copy it now): {raw}", messages.WARNING)

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(queryset)} API key(s).")


HTTP_METHODS = [(method, method) for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")]
# What the API answers (portal_auth/api.py), and the server's error.
API_STATUSES = [
    (str(code), f"{code} {HTTPStatus(code).phrase}") for code in (200, 201, 400, 401, 403, 404, 405, 409, 422, 429, 500)
]


@admin.register(ApiCall)
class ApiCallAdmin(PortalModelAdmin):
    list_display = ["created_at", "key_name", "method", "endpoint", "status", "duration_ms", "organisation"]
    # Millions of rows: filters that need no scan of the table, and no second count of all of it.
    list_filter = [
        fixed_choices_filter("status", "status", API_STATUSES),
        "organisation",
        fixed_choices_filter("method", "method", HTTP_METHODS),
        "created_at",
    ]
    show_full_result_count = False
    search_fields = ["key_name", "endpoint"]
    list_select_related = ["organisation"]
    readonly_fields = [f.name for f in ApiCall._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
