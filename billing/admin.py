from weakref import WeakKeyDictionary

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.forms import AddedOnceForm, ChangedMeanwhile, PaymentForm, SavedAsShownForm
from billing.models import (
    BillingProfile,
    BillingSettings,
    Invoice,
    InvoiceLine,
    Membership,
    Payment,
    Plan,
    Tab,
    TabCharge,
)
from billing.services import (
    LineInput,
    invoice_draft_add_by_staff,
    invoice_issue,
    invoice_void,
    membership_start_by_staff,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open_by_staff,
)
from portal_core.admin import PortalModelAdmin
from portal_core.sent_once import create_once
from portal_core.staff_reply import CreatedOnceAdminMixin


class SavedAsShownAdminMixin(CreatedOnceAdminMixin):
    """An admin of rows billing's services write too: added once, changed only from the row as its page showed it
    (billing.forms.SavedAsShownForm); a page saved after the row changed comes back as the row is now, told why."""

    form = SavedAsShownForm

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        (name, options), *others = super().get_fieldsets(request, obj)
        return [(name, {**options, "fields": [*options["fields"], "shown_state"]}), *others]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except ChangedMeanwhile as changed:  # the admin's transaction rolled back: nothing saved, nothing logged
            self.message_user(request, str(changed), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(BillingSettings)
class BillingSettingsAdmin(PortalModelAdmin):
    list_display = [
        "organisation",
        "legal_name",
        "currency",
        "rounding",
        "days_due",
        "invoice_add_ons",
        "invoice_services",
    ]


@admin.register(BillingProfile)
class BillingProfileAdmin(PortalModelAdmin):
    list_display = ["customer", "name"]
    search_fields = ["customer__email", "name"]
    autocomplete_fields = ["customer"]


def _issued(invoice: Invoice | None) -> bool:
    return invoice is not None and invoice.status != Invoice.Status.DRAFT


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 1
    fields = ["description", "quantity", "unit_price", "tax_rate", "net"]
    readonly_fields = ["net"]

    # An issued invoice never changes: its lines are shown, never edited.
    def has_add_permission(self, request, obj=None):
        return not _issued(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not _issued(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _issued(obj) and super().has_delete_permission(request, obj)


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    fields = ["paid_on", "amount", "method", "reference", "recorded_by"]
    readonly_fields = ["paid_on", "amount", "method", "reference", "recorded_by"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(SavedAsShownAdminMixin, PortalModelAdmin):
    list_display = [
        "__str__",
        "customer",
        "status",
        "total_shown",
        "amount_due_shown",
        "issued_on",
        "due_on",
        "organisation",
    ]
    list_filter = ["status", "kind", "organisation", "issued_on"]
    search_fields = ["=number", "customer__email", "customer__name", "booking_reference"]
    autocomplete_fields = ["customer", "credits"]
    inlines = [InvoiceLineInline, PaymentInline]
    actions = ["issue_drafts", "void_invoices"]
    readonly_fields = [
        "number",
        "status",
        "issued_on",
        "due_on",
        "subtotal_shown",
        "tax_shown",
        "total_shown",
        "paid_shown",
        "credited_shown",
        "record_payment",
    ]  # fmt: skip

    def get_fields(self, request, obj=None):
        editable = ["customer", "credits", "booking_reference", "currency"]
        if obj is None:
            return [*editable, "sent_once_token"]
        return [*self.readonly_fields, *editable] if _issued(obj) else editable

    def get_readonly_fields(self, request, obj=None):
        if _issued(obj):
            return [*self.readonly_fields, "customer", "credits", "booking_reference", "currency"]
        return self.readonly_fields

    # Amounts with as many decimals as their currency has (stored with three, the finest minor unit).
    @admin.display(description="subtotal")
    def subtotal_shown(self, invoice: Invoice) -> str:
        return invoice.money(invoice.subtotal)

    @admin.display(description="tax")
    def tax_shown(self, invoice: Invoice) -> str:
        return invoice.money(invoice.tax)

    @admin.display(description="total")
    def total_shown(self, invoice: Invoice) -> str:
        return invoice.total_display() if invoice.currency else "—"

    @admin.display(description="paid")
    def paid_shown(self, invoice: Invoice) -> str:
        return invoice.money(invoice.amount_paid)

    @admin.display(description="credited")
    def credited_shown(self, invoice: Invoice) -> str:
        return invoice.money(invoice.amount_credited)

    @admin.display(description="due")
    def amount_due_shown(self, invoice: Invoice) -> str:
        return invoice.amount_due_display() if invoice.status == Invoice.Status.OPEN else "—"

    @admin.display(description="payment")
    def record_payment(self, invoice: Invoice) -> str:
        if invoice.status != Invoice.Status.OPEN or invoice.is_credit_note:
            return "—"
        url = reverse("admin:billing_payment_add") + f"?invoice={invoice.pk}&amount={invoice.amount_due}"
        return format_html('<a class="button" href="{}">Record a payment</a>', url)

    def save_model(self, request, obj, form, change):
        if not _issued(obj):  # a draft is a credit note while it names an invoice to credit
            obj.kind = Invoice.Kind.CREDIT_NOTE if obj.credits_id else Invoice.Kind.INVOICE
        if change:
            form.save_as_shown(obj, also=() if _issued(obj) else ("kind",))
        else:
            # Its lines are saved after it, in the same transaction: a second sending stops here, before any.
            invoice_draft_add_by_staff(invoice=obj, request_token=form.once_token)

    def has_delete_permission(self, request, obj=None):
        # An issued invoice or credit note was numbered and emailed: it is voided or credited, never deleted.
        return not _issued(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)  # it would delete issued ones too: drafts are deleted one at a time
        return actions

    @admin.action(description="Issue the selected drafts (number them and email them)", permissions=["change"])
    def issue_drafts(self, request, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset.filter(status=Invoice.Status.DRAFT).order_by("pk"):
            try:
                issued = invoice_issue(invoice=invoice)
            except ValidationError as error:
                self.message_user(request, f"{invoice.customer}: {'; '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Issued {issued} to {issued.customer.email}.", messages.SUCCESS)

    @admin.action(description="Void the selected open invoices (a credit note for every line)", permissions=["change"])
    def void_invoices(self, request, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset.order_by("pk"):
            try:
                note = invoice_void(invoice=invoice)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"Voided {invoice} with {note}.", messages.SUCCESS)


class PaymentRefused(Exception):
    def __init__(self, error: ValidationError) -> None:
        super().__init__(error)
        self.error = error


# Why recording a payment was refused, for the page shown again in the same request.
_refusals: WeakKeyDictionary[HttpRequest, ValidationError] = WeakKeyDictionary()


@admin.register(Payment)
class PaymentAdmin(CreatedOnceAdminMixin, PortalModelAdmin):
    form = PaymentForm
    autocomplete_fields = ["invoice"]  # every open invoice of every organisation would be too long a list
    list_display = ["__str__", "amount", "paid_on", "method", "reference", "recorded_by"]
    list_select_related = ["invoice", "recorded_by"]  # recorded_by may be empty: Django would not join it itself
    list_filter = ["method", "paid_on", "invoice__organisation"]
    search_fields = ["reference", "=invoice__number", "invoice__customer__email"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # Today where the invoice's organisation is: the day the receipt will say it was paid.
        invoice = (
            Invoice.objects.select_related("organisation").filter(pk=initial["invoice"]).first()
            if "invoice" in initial
            else None
        )
        zone = invoice.organisation.zone if invoice else None
        return {"paid_on": timezone.localdate(timezone=zone), **initial}

    def has_change_permission(self, request, obj=None):
        return False  # a receipt, once given, stands: a correction is a credit note

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            payment = payment_record(
                invoice=data["invoice"],
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data["reference"],
                recorded_by=request.user,
                entry_token=form.once_token,
            )
        except ValidationError as error:  # the invoice changed since the form was checked
            raise PaymentRefused(error) from error
        obj.pk = payment.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except PaymentRefused as refused:
            # The admin's transaction rolled back, nothing logged: the form again, with what was typed and why.
            _refusals[request] = refused.error
            return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = _refusals.get(request)
        if refusal is None:
            return form

        class RefusedPaymentForm(form):  # type: ignore[valid-type,misc]
            def clean(self):
                self.add_error(None, refusal)
                return super().clean()

        return RefusedPaymentForm


class TabChargeFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        tab = self.instance
        typed = [form for form in self.extra_forms if form.changed_data]
        if not typed or tab.pk is None:
            return
        # Locked until the charges are saved in this same transaction: a tab closed meanwhile takes none, and the
        # page comes back with them (the admin would otherwise drop rows it no longer offers, without a word).
        if Tab.objects.select_for_update().get(pk=tab.pk).status != Tab.Status.OPEN:
            raise ValidationError(
                f"The tab {tab} was closed meanwhile: add these charges to a new tab or an invoice.",
                code="tab_closed",
            )


class TabChargeInline(admin.TabularInline):
    model = TabCharge
    formset = TabChargeFormSet
    extra = 1
    fields = ["description", "quantity", "unit_price", "tax_rate", "charged_at"]
    readonly_fields = ["charged_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return (obj is None or obj.status == Tab.Status.OPEN) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # a charge stands once added; the tab's invoice is corrected by a credit note


@admin.register(Tab)
class TabAdmin(SavedAsShownAdminMixin, PortalModelAdmin):
    list_display = ["title", "customer", "status", "opened_at", "closed_at", "invoice"]
    list_filter = ["status", "organisation"]
    search_fields = ["title", "customer__email", "booking_reference"]
    autocomplete_fields = ["customer"]
    fields = ["customer", "title", "booking_reference", "status", "opened_at", "closed_at", "invoice"]
    readonly_fields = ["status", "opened_at", "closed_at", "invoice"]
    inlines = [TabChargeInline]
    actions = ["close_tabs"]

    def get_fields(self, request, obj=None):
        return self.fields if obj else [*self.fields, "sent_once_token"]

    def get_readonly_fields(self, request, obj=None):
        # The organisation follows from the customer when the tab is opened; it never moves to another.
        return [*self.readonly_fields, "customer"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            form.save_as_shown(obj)
        else:
            # Its charges are added after it, in the same transaction: a second sending stops here, before any.
            tab_open_by_staff(tab=obj, request_token=form.once_token)

    def save_formset(self, request, form, formset, change):
        if formset.model is not TabCharge:
            return super().save_formset(request, form, formset, change)
        for charge in formset.save(commit=False):
            try:  # through the service: it locks the tab and refuses a closed one
                tab_charge_add(
                    tab=form.instance,
                    charge=LineInput(charge.description, charge.unit_price, charge.quantity, charge.tax_rate),
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)

    @admin.action(description="Close the selected tabs and issue their invoices", permissions=["change"])
    def close_tabs(self, request, queryset: QuerySet[Tab]) -> None:
        for tab in queryset.order_by("pk"):
            try:
                invoice = tab_close(tab=tab)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"Closed {tab}: issued {invoice}.", messages.SUCCESS)


@admin.register(Plan)
class PlanAdmin(CreatedOnceAdminMixin, PortalModelAdmin):
    form = AddedOnceForm
    list_display = ["name", "organisation", "price", "currency", "period"]
    list_filter = ["organisation", "period"]
    search_fields = ["name"]
    fields = ["organisation", "name", "benefits", "price", "currency", "period"]

    def get_fields(self, request, obj=None):
        return self.fields if obj else [*self.fields, "sent_once_token"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            create_once(obj, request_token=form.once_token)


@admin.register(Membership)
class MembershipAdmin(SavedAsShownAdminMixin, PortalModelAdmin):
    list_display = ["customer", "plan", "status", "started_on", "period_ends_on"]
    list_filter = ["status", "plan", "organisation"]
    search_fields = ["customer__email", "customer__name", "plan__name"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["reminded_for"]

    def get_readonly_fields(self, request, obj=None):
        return ["reminded_for", "customer"] if obj else ["reminded_for"]

    def get_fields(self, request, obj=None):
        fields = ["customer", "plan", "status", "started_on", "period_ends_on", "reminded_for"]
        # A new membership's first period follows from its start; staff may move it afterwards.
        return fields if obj else ["customer", "plan", "status", "started_on", "sent_once_token"]

    def save_model(self, request, obj, form, change):
        if change:
            form.save_as_shown(obj)
        else:
            membership_start_by_staff(membership=obj, request_token=form.once_token)
