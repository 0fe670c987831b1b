from django import forms
from django.core.exceptions import ValidationError

from bookings.models import AddOn, Booking
from portal_auth import ratelimit
from portal_auth.models import Customer
from portal_auth.uploads import JPEG, PDF, PNG, validate_upload

DOCUMENT_KINDS = (PDF, JPEG, PNG)
DOCUMENT_MAX_SIZE = 10 * 1024 * 1024


class AddOnBookingForm(forms.Form):
    add_on = forms.ModelChoiceField(
        queryset=AddOn.objects.none(),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "This add-on is no longer offered.", "required": "Choose an add-on."},
    )

    def __init__(self, *args, booking: Booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        self.fields["add_on"].queryset = AddOn.objects.filter(organisation_id=booking.organisation_id, is_active=True)

    def clean(self):
        if self.booking.status == Booking.Status.CANCELLED:
            raise ValidationError("This booking is cancelled: add-ons can't be booked on it.", code="cancelled")
        if self.booking.has_ended:
            raise ValidationError("This booking has ended: add-ons can't be booked on it.", code="ended")
        return self.cleaned_data


class BookingDocumentForm(forms.Form):
    file = forms.FileField(
        label="Document",
        error_messages={"required": "Choose a file to upload.", "empty": "This file is empty."},
        help_text="A passport copy, a form… PDF, JPG or PNG, up to 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args, request, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.customer = customer
        self.kind = None

    def clean_file(self):
        ratelimit.consume("booking_document_upload", self.request, key=f"customer:{self.customer.pk}")
        file = self.cleaned_data["file"]
        self.kind = validate_upload(file, allowed=DOCUMENT_KINDS, max_size=DOCUMENT_MAX_SIZE)
        return file
