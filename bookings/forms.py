import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.models import AddOn, Booking, BookingAddOn
from portal_auth.models import Customer
from portal_core import ratelimit
from portal_core.uploads import JPEG, PDF, PNG, FileKind, validate_upload

DOCUMENT_KINDS = (PDF, JPEG, PNG)
DOCUMENT_MAX_SIZE = 10 * 1024 * 1024


class AddOnBookingForm(forms.Form):
    """The confirmation of an add-on at the price and currency the customer was shown."""

    price = forms.DecimalField(widget=forms.HiddenInput, max_digits=10, decimal_places=2)
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)

    def __init__(self, *args, booking: Booking, add_on: AddOn, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        self.add_on = add_on

    def clean(self):
        if self.booking.status == Booking.Status.CANCELLED:
            raise ValidationError("This booking is cancelled: add-ons can't be booked on it.", code="cancelled")
        if self.booking.has_ended:
            raise ValidationError("This booking has ended: add-ons can't be booked on it.", code="ended")
        if not self.add_on.is_active:
            raise ValidationError("This add-on is no longer offered.", code="not_offered")
        shown = (self.cleaned_data.get("price"), self.cleaned_data.get("currency"))
        if shown != (self.add_on.price, self.add_on.currency):
            # What is confirmed is what was shown: a price changed meanwhile must be seen before it is booked.
            raise ValidationError(
                f"The price of {self.add_on.name} is now {self.add_on.price_display}. Check it and confirm again.",
                code="price_changed",
            )
        return self.cleaned_data


class AddOnCancellationForm(forms.Form):
    """The customer's confirmation that they cancel an add-on they booked, while the booking allows it."""

    def __init__(self, *args, line: BookingAddOn, customer: Customer, deadline: datetime.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.line, self.customer, self.deadline = line, customer, deadline

    @property
    def refusal(self) -> ValidationError | None:
        return self.line.customer_cancellation_refusal(self.customer, deadline=self.deadline, now=timezone.now())

    def clean(self):
        if refusal := self.refusal:
            raise refusal
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
        self.kind: FileKind | None = None  # what the file's content shows it is, once clean_file has passed

    def clean_file(self):
        ratelimit.consume("booking_document_upload", self.request, key=f"customer:{self.customer.pk}")
        file = self.cleaned_data["file"]
        self.kind = validate_upload(file, allowed=DOCUMENT_KINDS, max_size=DOCUMENT_MAX_SIZE)
        return file
