import datetime

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.availability import FIRST_DAY, LAST_DAY, is_plausible_day
from bookings.models import AddOn, Booking, BookingAddOn, Service
from portal_auth.models import Customer
from portal_auth.services import customer_get_or_create
from portal_core import ratelimit
from portal_core.sent_once import SentOnceForm
from portal_core.text import one_line_of_text
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
        if refusal := self.booking.add_on_refusal():
            raise refusal
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


class BookingDocumentForm(ratelimit.RateLimitedForm):
    file = forms.FileField(
        label="Document",
        error_messages={"required": "Choose a file to upload.", "empty": "This file is empty."},
        help_text="A passport copy, a form… PDF, JPG or PNG, up to 10 MB.",
        widget=forms.FileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
    )

    rate_limit_action = "booking_document_upload"

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.kind: FileKind | None = None  # what the file's content shows it is, once clean_file has passed

    def rate_limit_key(self) -> str:
        return f"customer:{self.customer.pk}"

    def clean_file(self):
        file = self.cleaned_data["file"]
        self.kind = validate_upload(file, allowed=DOCUMENT_KINDS, max_size=DOCUMENT_MAX_SIZE)
        return file


class ServiceBookingForm(forms.Form):
    """A customer's answers for a slot: how many people (up to the places left) and a note."""

    places = forms.TypedChoiceField(label="How many people?", coerce=int)
    note = forms.CharField(
        label="Anything we should know?",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, places_left: int, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["places"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(number, str(number)) for number in range(1, places_left + 1)]
        field.error_messages["invalid_choice"] = f"Choose from 1 to {places_left} people: the places left."
        if places_left == 1:
            field.widget = forms.HiddenInput()
            field.initial = 1


ANSWERS_SALT = "bookings.service-answers"


def answers_signed(answers: dict, customer: Customer) -> str:
    """The answers as the check page carries them: signed, and for this customer only."""
    return signing.dumps({**answers, "customer": customer.pk}, salt=ANSWERS_SALT, compress=True)


def answers_shown(signed: object, customer: Customer) -> dict | None:
    """The answers a check page showed `customer`, from what its Confirm posted; None if it showed them no answers."""
    try:
        answers = signing.loads(str(signed), salt=ANSWERS_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(answers, dict) or answers.pop("customer", None) != customer.pk:
        return None
    return answers


class ServiceConfirmationForm(forms.Form):
    """The check page's Confirm: of the answers it showed, at the price it showed.

    Answers changed since (in another tab), or a price changed by staff, must be seen before anything is booked.
    """

    # The answers shown, signed for the customer. A Confirm posted after the session ended keeps them as a draft
    # (portal_auth/drafts.py), and the check page shows them again once that customer has signed in.
    # A note of 1,000 characters outside Latin-1, signed and compressed, comes to about 5,000.
    answers = forms.CharField(widget=forms.HiddenInput, max_length=20_000)
    price = forms.DecimalField(widget=forms.HiddenInput, max_digits=15, decimal_places=2)
    currency = forms.CharField(widget=forms.HiddenInput, max_length=3)

    def __init__(self, *args, customer: Customer, answers: dict, service: Service, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer, self.current, self.service = customer, answers, service

    def clean(self):
        shown = answers_shown(self.cleaned_data.get("answers"), self.customer)
        if shown is None or shown.get("token") != self.current["token"]:
            raise ValidationError(
                "Your answers changed in another window: this page now shows them. Check them and confirm again.",
                code="answers_changed",
            )
        places = self.current["places"]
        shown_price = (self.cleaned_data.get("price"), self.cleaned_data.get("currency"))
        if shown_price != (self.service.total(places), self.service.currency):
            for_whom = f" for {places} people" if self.service.is_group and places > 1 else ""
            raise ValidationError(
                f"The price is now {self.service.total_display(places)}{for_whom}. Check it and confirm again.",
                code="price_changed",
            )
        return self.cleaned_data


class StaffServiceBookingForm(SentOnceForm):
    """Staff booking a service for a customer, at a local date and time of the organisation. Sent twice, it books
    once (its `once_token`)."""

    email = forms.EmailField(label="Customer's email")
    name = forms.CharField(label="Customer's name", max_length=200, required=False)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(help_text="In the organisation's time zone.", widget=forms.TimeInput(attrs={"type": "time"}))
    places = forms.IntegerField(min_value=1, initial=1)
    note = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, service: Service, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        self.fields["time"].help_text = f"In {service.organisation.time_zone} time."

    def clean_name(self) -> str:
        # The customer's name, and so the attendee's, as the customer's own profile form would take it.
        return one_line_of_text(self.cleaned_data["name"], "The customer's name")

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not is_plausible_day(day):
            raise ValidationError(f"Choose a date between {FIRST_DAY:%Y} and {LAST_DAY:%Y}.", code="implausible_date")
        return day

    def clean(self):
        day, time = self.cleaned_data.get("date"), self.cleaned_data.get("time")
        if day and time:
            self.cleaned_data["starts_at"] = datetime.datetime.combine(day, time, tzinfo=self.service.organisation.zone)
        return self.cleaned_data

    def customer(self) -> Customer:
        return customer_get_or_create(
            organisation=self.service.organisation, email=self.cleaned_data["email"], name=self.cleaned_data["name"]
        )
