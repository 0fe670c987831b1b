import datetime
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portal_auth.models import Customer, Organisation, normalise_email
from portal_core.templatetags.portal import choice_label
from portal_core.text import validate_name_characters
from portal_core.uploads import StoredUpload


def new_booking_reference() -> str:
    # 22 URL-safe characters: 128 bits of randomness, so a portal link can't be guessed.
    return secrets.token_urlsafe(16)


def format_price(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


# The longest notice or window a service or booking can have: far past any use, and well inside the calendar, where
# now plus or minus it is still a date.
MAX_NOTICE = datetime.timedelta(days=3653)


def _at_most_ten_years() -> MaxValueValidator:
    return MaxValueValidator(MAX_NOTICE, message="At most 10 years (“3653 00:00:00”).")


DEFAULT_ADD_ON_CANCELLATION_NOTICE = datetime.timedelta(hours=48)
DEFAULT_ADD_ON_PAYMENT_TEXT = "The business will charge you for it."


class BookingSettings(models.Model):
    """How an organisation runs add-ons on its bookings."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="booking_settings"
    )
    add_on_cancellation_notice = models.DurationField(
        "add-on cancellation notice",
        default=DEFAULT_ADD_ON_CANCELLATION_NOTICE,
        validators=[MinValueValidator(datetime.timedelta(0)), _at_most_ten_years()],
        help_text="A customer may cancel an add-on they booked until this long before the booking starts "
        "(at midnight of its first day), e.g. “2 00:00:00” for two days, “00:00:00” for up to the start. "
        "A booking can set its own.",
    )
    add_on_payment_text = models.TextField(
        "how add-ons are charged",
        blank=True,
        help_text="Shown to a customer before they confirm an add-on, e.g. “Paid at the reception on arrival.” "
        f"When empty: “{DEFAULT_ADD_ON_PAYMENT_TEXT}”",
    )

    class Meta:
        verbose_name = "booking settings"
        verbose_name_plural = "booking settings"

    def __str__(self) -> str:
        return f"Booking settings of {self.organisation}"

    @classmethod
    def for_organisation(cls, organisation: Organisation) -> "BookingSettings":
        # An organisation without a row gets the defaults, unsaved: reading settings never writes.
        try:
            return organisation.booking_settings
        except cls.DoesNotExist:
            return cls(organisation=organisation)

    @property
    def payment_text(self) -> str:
        return self.add_on_payment_text.strip() or DEFAULT_ADD_ON_PAYMENT_TEXT


MAX_SERVICE_DURATION = datetime.timedelta(hours=24)


def duration_display(value: datetime.timedelta) -> str:
    """'1 hour 30 minutes', '2 days'."""
    minutes = int(value.total_seconds()) // 60
    parts = [(minutes // 1440, "day"), (minutes // 60 % 24, "hour"), (minutes % 60, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 minutes"


class Resource(models.Model):
    """Where or with whom a service happens (a room, a guide, a vehicle): it serves one slot at a time."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


def window_display(opens: datetime.time, closes: datetime.time) -> str:
    """'18:00–02:00 (next day)': a window closing at or before its opening time closes the next day."""
    if closes > opens:
        return f"{opens:%H:%M}–{closes:%H:%M}"
    return f"{opens:%H:%M}–{closes:%H:%M} ({'midnight' if closes == datetime.time.min else 'next day'})"


def runs_past_midnight(opens: datetime.time | None, closes: datetime.time | None) -> bool:
    """Whether a window has times after midnight, which are booked on the next day (one closing at 00:00 has none)."""
    return opens is not None and closes is not None and datetime.time.min < closes < opens


# Shown to staff beside the closing times, and when a window is refused.
OVERNIGHT_HELP = "At or before the opening time: the next day, e.g. 18:00–02:00; 00:00 is midnight."
SAME_TIMES_MESSAGE = (
    "Closing time can't be the same as opening time: a window of a whole day isn't possible. "
    "A closing time earlier than the opening time is the next day's (18:00–02:00); 00:00 is midnight."
)


def _opens_and_closes_differ() -> Q:
    # Not closes > opens: a closing time earlier than the opening time is the next day's.
    return Q(closes__gt=F("opens")) | Q(closes__lt=F("opens"))


class OpeningHours(models.Model):
    """A resource's weekly hours, in its organisation's time zone; a day may have several windows. A window may run
    past midnight (18:00–02:00): its times after midnight are booked on the next day."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text=OVERNIGHT_HELP)

    class Meta:
        ordering = ["weekday", "opens", "pk"]
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=_opens_and_closes_differ(),
                name="opening_hours_close_at_another_time",
                violation_error_message=SAME_TIMES_MESSAGE,
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {window_display(self.opens, self.closes)}"


class AvailabilityException(models.Model):
    """A date that differs from the weekly hours: closed all day, or open for extra hours."""

    class Kind(models.TextChoices):
        CLOSED = "closed", "Closed all day"
        EXTRA = "extra", "Extra hours"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        help_text="Closed all day closes this date's own hours, with any part of them after midnight; hours of the "
        "day before that run past midnight into this date stay open.",
    )
    opens = models.TimeField(null=True, blank=True, help_text="Extra hours only.")
    closes = models.TimeField(null=True, blank=True, help_text=f"Extra hours only. {OVERNIGHT_HELP}")

    class Meta:
        ordering = ["date", "opens", "pk"]
        indexes = [models.Index(fields=["resource", "date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="closed") | Q(opens__isnull=False, closes__isnull=False) & _opens_and_closes_differ(),
                name="extra_hours_close_at_another_time",
                violation_error_message="Extra hours need an opening time and a closing time, not the same one: "
                "a window of a whole day isn't possible. A closing time earlier than the opening time is the next "
                "day's (18:00–02:00); 00:00 is midnight.",
            )
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.CLOSED:
            return f"{self.date:%d %b %Y}: closed"
        if self.opens is None or self.closes is None:  # refused by the constraint, but still shown in its error
            return f"{self.date:%d %b %Y}: extra hours"
        return f"{self.date:%d %b %Y}: extra hours {window_display(self.opens, self.closes)}"


class Service(models.Model):
    """Something customers book for themselves at a time: an appointment (capacity 1) or a class, a tour."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    duration = models.DurationField(
        validators=[MinValueValidator(datetime.timedelta(minutes=5)), MaxValueValidator(MAX_SERVICE_DURATION)],
        help_text="e.g. “01:00:00” for an hour. Slots follow one another from each opening time.",
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR.")],
    )
    capacity = models.PositiveSmallIntegerField(
        "places per slot",
        default=1,
        validators=[MinValueValidator(1)],
        help_text="1 for an appointment, 12 for a class or a tour.",
    )
    resource = models.ForeignKey(
        Resource,
        on_delete=models.RESTRICT,
        related_name="services",
        help_text="Where it happens. Services sharing a resource never overlap.",
    )
    min_notice = models.DurationField(
        "bookable from",
        default=datetime.timedelta(hours=2),
        validators=[MinValueValidator(datetime.timedelta(0)), _at_most_ten_years()],
        help_text="How long before a slot it can still be booked, e.g. “02:00:00” for two hours.",
    )
    max_advance = models.DurationField(
        "bookable up to",
        default=datetime.timedelta(days=60),
        validators=[MinValueValidator(datetime.timedelta(hours=1)), _at_most_ten_years()],
        help_text="How far ahead it can be booked, e.g. “60 00:00:00” for 60 days.",
    )
    free_cancellation_notice = models.DurationField(
        "free cancellation until",
        default=datetime.timedelta(hours=24),
        validators=[MinValueValidator(datetime.timedelta(0)), _at_most_ten_years()],
        help_text="Customers may cancel or reschedule online until this long before the start.",
    )
    needs_confirmation = models.BooleanField(
        "staff confirm each booking",
        default=False,
        help_text="A booking starts as provisional until staff confirm it.",
    )
    is_active = models.BooleanField("offered", default=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_advance__gt=F("min_notice")),
                name="service_bookable_window_not_empty",
                violation_error_message="“Bookable up to” must be longer than “bookable from”.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.resource_id and self.organisation_id and self.resource.organisation_id != self.organisation_id:
            raise ValidationError({"resource": "This resource belongs to another organisation."})

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.currency)

    def total(self, places: int) -> Decimal:
        """What `places` places cost together (a class is priced a person)."""
        return self.price * (places if self.is_group else 1)

    def total_display(self, places: int) -> str:
        return format_price(self.total(places), self.currency)

    @property
    def is_group(self) -> bool:
        return self.capacity > 1

    @property
    def duration_display(self) -> str:
        return duration_display(self.duration)

    @property
    def free_cancellation_display(self) -> str:
        return duration_display(self.free_cancellation_notice)


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    PROVISIONAL = "provisional", "Provisional"
    CANCELLED = "cancelled", "Cancelled"


class BookingShownFacts:
    """How a booking's status is shown: of a Booking, and of a row read for a list (bookings/selectors.py)."""

    __slots__ = ()
    status: str
    # The colour of a status's badge (`badge-<tone>`); any other is muted.
    STATUS_TONES: dict[str, str] = {BookingStatus.CONFIRMED: "success", BookingStatus.PROVISIONAL: "warning"}

    @property
    def status_tone(self) -> str:
        """The colour of its status badge (`badge-<tone>`)."""
        return self.STATUS_TONES.get(self.status, "muted")

    @property
    def status_label(self) -> str:
        return choice_label(Booking, "status", self.status)  # one no longer offered: as stored


class Booking(BookingShownFacts, models.Model):
    Status = BookingStatus

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="bookings")
    reference = models.CharField(max_length=32, unique=True, default=new_booking_reference, editable=False)
    title = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    main_contact_name = models.CharField(max_length=200, blank=True, validators=[validate_name_characters])
    main_contact_email = models.EmailField(blank=True, help_text="Never used to decide who may open the booking.")
    add_on_cancellation_notice = models.DurationField(
        "add-on cancellation notice",
        null=True,
        blank=True,
        validators=[MinValueValidator(datetime.timedelta(0)), _at_most_ten_years()],
        help_text="For this booking only, instead of the organisation's booking settings (e.g. “7 00:00:00”). "
        "Empty: the organisation's notice.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # A booking of a service at a time (made by a customer in the portal, or by staff for them).
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.RESTRICT, related_name="bookings")
    # Kept on the booking: the resource it occupies stays occupied even if the service moves elsewhere.
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.RESTRICT, related_name="bookings")
    slot_starts_at = models.DateTimeField("starts at", null=True, blank=True)
    slot_ends_at = models.DateTimeField("ends at", null=True, blank=True)
    # Database defaults too, so rows written by SQL (imports, bench/scale.py) need not name them.
    places = models.PositiveSmallIntegerField(default=1, db_default=1, validators=[MinValueValidator(1)])
    note = models.TextField(blank=True, default="", db_default="")
    booked_by_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Raised at each change of time, so calendars replace the event they hold (iCalendar SEQUENCE).
    calendar_sequence = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # The customer's confirmation this booking answered: the same one pressed again makes no second booking.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)
    # What the customer agreed to pay for all its places, as the check page showed it: a later change of the
    # service's price changes no booking made. None for a booking not made for a service. (15 digits: the largest
    # price a service holds, times the most places a booking holds.)
    price = models.DecimalField("price agreed", max_digits=15, decimal_places=2, null=True, blank=True, editable=False)
    currency = models.CharField(max_length=3, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["starts_on", "pk"]
        indexes = [
            models.Index(fields=["organisation", "starts_on"]),
            # A day's slots: the bookings of one resource starting in a range.
            models.Index(fields=["resource", "slot_starts_at"], name="booking_resource_start_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="booking_ends_after_it_starts",
                violation_error_message="The booking can't end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(slot_starts_at__isnull=True) | Q(slot_ends_at__gt=F("slot_starts_at")),
                name="booking_slot_ends_after_it_starts",
                violation_error_message="The slot must end after it starts.",
            ),
            models.UniqueConstraint(
                fields=["booked_by_customer", "request_token"],
                condition=~Q(request_token=""),
                name="booking_once_per_confirmation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_on:%d %b %Y})"

    @property
    def has_ended(self) -> bool:
        # A slot is over when it ends, not at midnight: an add-on booked on it after that would come too late.
        if self.slot_ends_at is not None:
            return self.slot_ends_at <= timezone.now()
        return self.ends_on < timezone.localdate()

    def add_on_refusal(self) -> ValidationError | None:
        """Why no add-on can be booked on this booking now, or None if one can."""
        if self.status == self.Status.CANCELLED:
            return ValidationError("This booking is cancelled: add-ons can't be booked on it.", code="cancelled")
        if self.has_ended:
            return ValidationError("This booking has ended: add-ons can't be booked on it.", code="ended")
        return None

    @property
    def accepts_add_ons(self) -> bool:
        return self.add_on_refusal() is None

    @property
    def starts_at(self) -> datetime.datetime:
        """A slot's start; else the booking's first day holds no time: midnight in the portal's time zone."""
        if self.slot_starts_at is not None:
            return self.slot_starts_at
        return timezone.make_aware(datetime.datetime.combine(self.starts_on, datetime.time.min))

    @property
    def is_slot(self) -> bool:
        return self.service_id is not None and self.slot_starts_at is not None

    @property
    def price_display(self) -> str:
        return "" if self.price is None else format_price(self.price, self.currency)

    def add_on_cancellation_deadline(self, organisation_notice: datetime.timedelta) -> datetime.datetime:
        """The moment from which a customer can no longer cancel an add-on on this booking: the booking's own
        notice, else for a service booked at a time its free-cancellation window, else the organisation's."""
        if self.add_on_cancellation_notice is not None:
            return self.starts_at - self.add_on_cancellation_notice
        if self.service_id is not None and self.slot_starts_at is not None:
            return self.starts_at - self.service.free_cancellation_notice  # type: ignore[union-attr]
        return self.starts_at - organisation_notice


class Attendee(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    email = models.EmailField(blank=True, db_index=True, help_text="Whoever signs in with this email sees the booking.")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


class AddOn(models.Model):
    """An extra the organisation offers on its bookings (a transfer, a late check-out, …)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="add_ons")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR.")],
    )
    is_active = models.BooleanField("offered", default=True, help_text="Only offered add-ons can be booked.")

    # Set by bookings.selectors.add_ons_for on the add-ons booked on a booking.
    booked_price_display: str
    cancellable_until: datetime.datetime
    cancellable: bool

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "add-on"

    def __str__(self) -> str:
        return self.name

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.currency)


class BookingAddOn(models.Model):
    """An add-on booked on a booking. The price is copied, so later price changes don't rewrite history.

    A cancelled line stays, with when and by whom, and the add-on can be booked again on a new line.
    """

    class BookedBy(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"

    CancelledBy = BookedBy

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booked_add_ons")
    add_on = models.ForeignKey(AddOn, on_delete=models.RESTRICT, related_name="bookings")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    booked_by = models.CharField(max_length=10, choices=BookedBy.choices)
    booked_by_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    booked_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_by = models.CharField(max_length=10, choices=BookedBy.choices, blank=True, editable=False)
    cancelled_by_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    cancelled_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["booked_at", "pk"]
        verbose_name = "booked add-on"
        constraints = [
            # Booking twice changes nothing, yet an add-on cancelled can be booked again.
            models.UniqueConstraint(
                "booking", "add_on", condition=Q(cancelled_at__isnull=True), name="add_on_booked_once_per_booking"
            )
        ]

    def __str__(self) -> str:
        return str(self.add_on)

    def clean(self):
        if self.add_on_id and self.booking_id and self.add_on.organisation_id != self.booking.organisation_id:
            raise ValidationError({"add_on": "This add-on belongs to another organisation."})

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.currency)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def customer_cancellation_refusal(
        self, customer: Customer, *, deadline: datetime.datetime, now: datetime.datetime
    ) -> ValidationError | None:
        """Why `customer` may not cancel this line now, or None if they may.

        Only the customer who booked it: they confirmed its price and are the one charged for it.
        """
        if self.is_cancelled:
            return ValidationError("This add-on is already cancelled.", code="cancelled")
        if self.booked_by != self.BookedBy.CUSTOMER or self.booked_by_customer_id != customer.pk:
            return ValidationError("Only the person who booked this add-on can cancel it online.", code="not_booker")
        if self.booking.status == Booking.Status.CANCELLED:
            return ValidationError("This booking is cancelled.", code="booking_cancelled")
        if now >= deadline:
            return ValidationError(
                f"Add-ons on this booking could be cancelled online until {_moment(deadline)}.", code="too_late"
            )
        return None


def _moment(value: datetime.datetime) -> str:
    local = timezone.localtime(value)
    return f"{local.day} {local:%b %Y, %H:%M}"


class BookingDocument(StoredUpload):
    """A file a customer supplies for a booking. Served only through a view that checks who asks."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "booking document"

    def storage_folder(self) -> str:
        return "booking-documents"
