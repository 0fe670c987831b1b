from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from bookings.forms import StaffServiceBookingForm
from bookings.models import (
    AddOn,
    Attendee,
    AvailabilityException,
    Booking,
    BookingAddOn,
    BookingDocument,
    BookingSettings,
    OpeningHours,
    Resource,
    Service,
    runs_past_midnight,
)
from bookings.services import (
    SlotUnavailable,
    attendee_portal_password_set,
    booking_add_ons_save_by_staff,
    booking_moment,
    booking_url,
    service_book,
    service_booking_cancel_by_staff,
    service_booking_confirmed_by_staff,
)
from portal_auth.doors.password.forms import SetPasswordForm
from portal_auth.models import Customer, normalise_email
from portal_core.admin import OrganisationFixedMixin, PortalModelAdmin
from portal_core.origin import ClientOrigin
from portal_core.sent_once import CreatedAlready
from portal_core.staff_reply import created_already_redirect
from portal_core.uploads import StoredUploadAdminMixin


def _portal_password_link(attendee: Attendee) -> str:
    if not attendee.pk or not attendee.email:
        return "—"
    url = reverse("admin:bookings_attendee_portal_password", args=[attendee.pk])
    return format_html('<a href="{}">Set portal password</a>', url)


def _download_link(document: BookingDocument) -> str:
    if not document.pk:
        return "—"
    url = reverse("admin:bookings_bookingdocument_download", args=[document.pk])
    return format_html('<a href="{}">{}</a>', url, document.original_name)


class AttendeeInline(admin.TabularInline):
    model = Attendee
    extra = 1
    fields = ["name", "email", "portal_password"]
    readonly_fields = ["portal_password"]

    @admin.display(description="Portal password")
    def portal_password(self, attendee):
        return _portal_password_link(attendee)


class BookingAddOnInlineForm(forms.ModelForm):
    cancel = forms.BooleanField(
        required=False,
        help_text="Keeps the line, shown as cancelled by you, and emails the customer who booked it.",
    )

    class Meta:
        model = BookingAddOn
        fields = ["add_on"]


class BookingAddOnInline(admin.TabularInline):
    model = BookingAddOn
    form = BookingAddOnInlineForm
    extra = 0
    fields = [
        "add_on",
        "price",
        "currency",
        "booked_by",
        "booked_by_customer",
        "booked_by_staff",
        "booked_at",
        "cancellation",
        "cancel",
    ]
    readonly_fields = [
        "price",
        "currency",
        "booked_by",
        "booked_by_customer",
        "booked_by_staff",
        "booked_at",
        "cancellation",
    ]
    autocomplete_fields = ["add_on"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("cancelled_by_customer", "cancelled_by_staff")

    @admin.display(description="Status")
    def cancellation(self, line):
        if not line.pk or not line.is_cancelled:
            return "Booked" if line.pk else "—"
        who = line.cancelled_by_customer or line.cancelled_by_staff or "someone since deleted"
        when = timezone.localtime(line.cancelled_at)
        return f"Cancelled on {when:%d %b %Y, %H:%M} by {who} ({line.get_cancelled_by_display().lower()})"


class BookingDocumentInline(admin.TabularInline):
    model = BookingDocument
    extra = 0
    readonly_fields = ("download", "content_type", "size", "uploaded_by", "created_at")
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Document")
    def download(self, document):
        return _download_link(document)


class BookingAdminForm(forms.ModelForm):
    class Meta:
        model = Booking
        fields = ["status"]  # the admin's fieldsets add the rest

    def clean_status(self):
        status = self.cleaned_data["status"]
        booking = self.instance
        reinstated = booking.pk and booking.status == Booking.Status.CANCELLED and status != Booking.Status.CANCELLED
        if reinstated and booking.slot_starts_at is not None:
            # Its place may have been taken since: booking the time again checks it is free.
            raise forms.ValidationError(
                "A cancelled booking of a service stays cancelled: book the time again, which checks it is still free."
            )
        return status


@admin.register(Booking)
class BookingAdmin(OrganisationFixedMixin, PortalModelAdmin):
    form = BookingAdminForm
    list_display = [
        "title",
        "reference",
        "starts_on",
        "ends_on",
        "slot_time",
        "places",
        "resource",
        "status",
        "main_contact_email",
        "organisation",
    ]
    # A resource's day: filter by resource, then pick the day in the date bar.
    list_filter = ["status", "organisation", "resource", "service", "starts_on", "ends_on"]
    search_fields = [
        "=reference",
        "title",
        "main_contact_name",
        "main_contact_email",
        "attendees__name",
        "attendees__email",
    ]
    date_hierarchy = "starts_on"
    list_select_related = ["organisation", "resource"]
    readonly_fields = [
        "reference",
        "portal_link",
        "created_at",
        "service",
        "resource",
        "slot_time",
        "places",
        "price_agreed",
        "note",
    ]
    fields = [
        "organisation",
        "title",
        ("starts_on", "ends_on"),
        "status",
        ("main_contact_name", "main_contact_email"),
        "add_on_cancellation_notice",
        ("service", "resource"),
        ("slot_time", "places", "price_agreed"),
        "note",
        "reference",
        "portal_link",
        "created_at",
    ]

    @admin.display(description="Time", ordering="slot_starts_at")
    def slot_time(self, booking):
        if booking.slot_starts_at is None:
            return "—"
        zone = booking.organisation.zone
        start, end = booking.slot_starts_at.astimezone(zone), booking.slot_ends_at.astimezone(zone)
        # As the customer's pages say it: a slot may end after midnight (opening hours past midnight).
        next_day = " the next day" if end.date() != start.date() else ""
        return f"{start:%d %b %Y %H:%M}–{end:%H:%M}{next_day} ({zone.key})"

    @admin.display(description="Price agreed")
    def price_agreed(self, booking):
        return booking.price_display or "—"

    inlines = [AttendeeInline, BookingAddOnInline, BookingDocumentInline]

    @admin.display(description="Portal link")
    def portal_link(self, booking):
        if not booking.pk:
            return "Shown once the booking is saved."
        url = booking_url(booking)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # A slot's days follow its time, which a move sets: typed here (or saved from a page opened before a move),
        # they would put the booking on another day than its time's, in My bookings and the day view.
        return [*readonly, "starts_on", "ends_on"] if obj is not None and obj.slot_starts_at is not None else readonly

    def get_object(self, request, object_id, from_field=None):
        booking = super().get_object(request, object_id, from_field)
        if booking is None or request.method != "POST":
            return booking
        # Held until the save commits (the admin saves in one transaction): a customer's cancellation or move came
        # before, and the form is checked against it, or waits; the save never writes back a slot or status read
        # before one.
        return Booking.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=booking.pk)

    def save_model(self, request, obj, form, change):
        was = form.initial.get("status")
        moved = change and "status" in form.changed_data and obj.slot_starts_at is not None
        confirmed = moved and was == Booking.Status.PROVISIONAL and obj.status == Booking.Status.CONFIRMED
        cancelled = moved and obj.status == Booking.Status.CANCELLED
        if cancelled:
            obj.status = was  # the service cancels it, with its emails and its add-ons
        super().save_model(request, obj, form, change)
        if confirmed:
            service_booking_confirmed_by_staff(booking=obj, staff_user=request.user)
        if cancelled:
            service_booking_cancel_by_staff(booking=obj, staff_user=request.user)
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        if formset.model is BookingAddOn:
            lines = formset.save(commit=False)
            cancelled = [
                form.instance
                for form in formset.forms
                if form.instance.pk and form.cleaned_data.get("cancel") and form not in formset.deleted_forms
            ]
            booking_add_ons_save_by_staff(
                lines=lines, deleted=formset.deleted_objects, cancelled=cancelled, staff_user=request.user
            )
            return
        super().save_formset(request, form, formset, change)


@admin.register(Attendee)
class AttendeeAdmin(PortalModelAdmin):
    list_display = ["name", "email", "booking"]
    search_fields = ["name", "email", "=booking__reference", "booking__title"]
    list_filter = ["booking__organisation"]
    list_select_related = ["booking"]
    autocomplete_fields = ["booking"]
    readonly_fields = ["portal_password"]

    @admin.display(description="Portal password")
    def portal_password(self, attendee):
        return _portal_password_link(attendee)

    def get_urls(self):
        view = self.admin_site.admin_view(self.portal_password_view)
        return [path("<int:pk>/portal-password/", view, name="bookings_attendee_portal_password"), *super().get_urls()]

    def portal_password_view(self, request, pk):
        """Staff choose the attendee's portal password: it replaces theirs and ends their other sessions."""
        attendee = get_object_or_404(Attendee.objects.select_related("booking__organisation"), pk=pk)
        if not (self.has_change_permission(request, attendee) and request.user.has_perm("portal_auth.change_customer")):
            raise PermissionDenied
        if not attendee.email:
            raise Http404("This attendee has no email, so no portal password.")
        organisation = attendee.booking.organisation
        customer = Customer.objects.filter(organisation=organisation, email=attendee.email).first()
        # An unsaved customer lets the validators compare the password with the email and name.
        form_customer = customer or Customer(organisation=organisation, email=attendee.email, name=attendee.name)
        form = SetPasswordForm(request.POST or None, customer=form_customer)
        if request.method == "POST" and form.is_valid():
            attendee_portal_password_set(
                origin=ClientOrigin.from_request(request),
                attendee=attendee,
                password=form.password,
                staff_user=request.user,
            )
            messages.success(
                request,
                f"The portal password of {attendee.email} is set. Their other portal sessions have ended.",
            )
            return redirect("admin:bookings_attendee_change", attendee.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": attendee,
            "title": f"Portal password for {attendee.email}",
            "attendee": attendee,
            "customer": customer,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "bookings/admin/portal_password.html", context)


@admin.register(AddOn)
class AddOnAdmin(PortalModelAdmin):
    list_display = ["name", "price", "currency", "is_active", "organisation"]
    list_filter = ["is_active", "organisation", "currency"]
    search_fields = ["name", "description"]
    list_select_related = ["organisation"]


@admin.register(BookingSettings)
class BookingSettingsAdmin(OrganisationFixedMixin, PortalModelAdmin):
    list_display = ["organisation", "add_on_cancellation_notice"]
    list_select_related = ["organisation"]
    fields = ["organisation", "add_on_cancellation_notice", "add_on_payment_text"]


@admin.register(BookingDocument)
class BookingDocumentAdmin(StoredUploadAdminMixin, PortalModelAdmin):
    list_display = ["original_name", "booking", "uploaded_by", "size", "created_at"]
    list_filter = ["content_type", "created_at", "booking__organisation"]
    search_fields = ["original_name", "=booking__reference", "booking__title", "uploaded_by__email"]
    list_select_related = ["booking", "uploaded_by"]
    date_hierarchy = "created_at"
    readonly_fields = ("download", "booking", "uploaded_by", "content_type", "size", "created_at")
    fields = readonly_fields

    @admin.display(description="Document")
    def download(self, document):
        return _download_link(document)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 1
    fields = ["weekday", "opens", "closes", "hours"]
    readonly_fields = ["hours"]

    @admin.display(description="Hours")
    def hours(self, opening_hours):
        return str(opening_hours) if opening_hours.pk else "—"


class AvailabilityExceptionInline(admin.TabularInline):
    model = AvailabilityException
    extra = 1
    fields = ["date", "kind", "opens", "closes", "hours"]
    readonly_fields = ["hours"]

    @admin.display(description="Hours")
    def hours(self, exception):
        return str(exception) if exception.pk else "—"


def _times_after_midnight(window: OpeningHours | AvailabilityException) -> str:
    """Where a window's times after midnight are offered to customers: on the next day, as they start then."""
    if not runs_past_midnight(window.opens, window.closes):
        return ""
    if isinstance(window, OpeningHours):
        next_day = OpeningHours.Weekday((window.weekday + 1) % 7).label
        return f"{window}: its times after midnight are offered to customers on {next_day}."
    return f"{window}: its times after midnight are offered to customers on {window.date + timedelta(days=1):%d %b %Y}."


@admin.register(Resource)
class ResourceAdmin(PortalModelAdmin):
    list_display = ["name", "organisation", "day_view"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    list_select_related = ["organisation"]
    inlines = [OpeningHoursInline, AvailabilityExceptionInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        saved = [*formset.new_objects, *(changed for changed, _ in formset.changed_objects)]
        for window in saved:
            if isinstance(window, OpeningHours | AvailabilityException) and (note := _times_after_midnight(window)):
                messages.info(request, note)

    @admin.display(description="Booked today")
    def day_view(self, resource):
        today = timezone.now().astimezone(resource.organisation.zone).date()
        url = reverse("admin:bookings_booking_changelist")
        query = f"resource__id__exact={resource.pk}&starts_on__day={today.day}&starts_on__month={today.month}"
        return format_html('<a href="{}?{}&starts_on__year={}">Day view</a>', url, query, today.year)


@admin.register(Service)
class ServiceAdmin(PortalModelAdmin):
    list_display = ["name", "duration", "capacity", "price", "currency", "resource", "is_active", "organisation"]
    list_filter = ["is_active", "organisation", "resource", "needs_confirmation"]
    search_fields = ["name", "description"]
    list_select_related = ["organisation", "resource"]
    autocomplete_fields = ["resource"]
    readonly_fields = ["book_for_customer"]
    fieldsets = [
        (None, {"fields": ["organisation", "name", "description", "is_active", "book_for_customer"]}),
        ("Slots", {"fields": ["resource", "duration", "capacity", ("price", "currency")]}),
        ("Rules", {"fields": ["min_notice", "max_advance", "free_cancellation_notice", "needs_confirmation"]}),
    ]

    @admin.display(description="Book for a customer")
    def book_for_customer(self, service):
        if not service.pk:
            return "Once the service is saved."
        url = reverse("admin:bookings_service_book", args=[service.pk])
        return format_html('<a href="{}">Book for a customer…</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.book_view)
        return [path("<int:pk>/book/", view, name="bookings_service_book"), *super().get_urls()]

    def _may_book_for(self, request, form: StaffServiceBookingForm) -> bool:
        # Booking for an email no customer has yet makes that customer.
        email = normalise_email(form.cleaned_data["email"])
        known = Customer.objects.filter(organisation=form.service.organisation, email=email).exists()
        return known or request.user.has_perm("portal_auth.add_customer")

    def book_view(self, request, pk):
        """Staff book on a customer's behalf through the same service as the portal, with the same checks."""
        service = get_object_or_404(Service.objects.select_related("organisation", "resource"), pk=pk)
        if not request.user.has_perm("bookings.add_booking"):
            raise PermissionDenied
        form = StaffServiceBookingForm(request.POST or None, service=service)
        if request.method == "POST" and form.is_valid() and not self._may_book_for(request, form):
            form.add_error("email", "No customer has this email yet, and you may not add customers.")
        elif request.method == "POST" and form.is_valid():
            try:
                # A booking refused, or made already by this page, makes (or changes) no customer either.
                with transaction.atomic():
                    booking = service_book(
                        service=service,
                        customer=form.customer(),
                        starts_at=form.cleaned_data["starts_at"],
                        places=form.cleaned_data["places"],
                        note=form.cleaned_data["note"],
                        staff_user=request.user,
                        request_token=form.once_token,
                    )
            except CreatedAlready as already:
                return created_already_redirect(self, request, already)
            except SlotUnavailable as refusal:
                nearest = ", ".join(
                    booking_moment(slot.starts_at, Booking(organisation=service.organisation))
                    for slot in refusal.nearest
                )
                form.add_error(None, f"{refusal.message} Nearest free times: {nearest or 'none this week'}.")
            else:
                messages.success(request, f"Booked {booking} for {booking.main_contact_email}; they were emailed.")
                return redirect("admin:bookings_booking_change", booking.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": service,
            "title": f"Book {service.name} for a customer",
            "service": service,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "bookings/admin/service_book.html", context)
