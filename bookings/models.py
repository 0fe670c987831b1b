import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portal_auth.models import Customer, Organisation, normalise_email
from portal_auth.uploads import storage_name


def new_booking_reference() -> str:
    # 22 URL-safe characters: 128 bits of randomness, so a portal link can't be guessed.
    return secrets.token_urlsafe(16)


def format_price(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


class Booking(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        PROVISIONAL = "provisional", "Provisional"
        CANCELLED = "cancelled", "Cancelled"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="bookings")
    reference = models.CharField(max_length=32, unique=True, default=new_booking_reference, editable=False)
    title = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    main_contact_name = models.CharField(max_length=200, blank=True)
    main_contact_email = models.EmailField(blank=True, help_text="Never used to decide who may open the booking.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on", "pk"]
        indexes = [models.Index(fields=["organisation", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="booking_ends_after_it_starts",
                violation_error_message="The booking can't end before it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_on:%d %b %Y})"

    @property
    def has_ended(self) -> bool:
        return self.ends_on < timezone.localdate()

    @property
    def accepts_add_ons(self) -> bool:
        return self.status != self.Status.CANCELLED and not self.has_ended


class Attendee(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(max_length=200)
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

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = "add-on"

    def __str__(self) -> str:
        return self.name

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.currency)


class BookingAddOn(models.Model):
    """An add-on booked on a booking. The price is copied, so later price changes don't rewrite history."""

    class BookedBy(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booked_add_ons")
    add_on = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="bookings")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    booked_by = models.CharField(max_length=10, choices=BookedBy.choices)
    booked_by_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    booked_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_at", "pk"]
        verbose_name = "booked add-on"
        constraints = [models.UniqueConstraint("booking", "add_on", name="add_on_booked_once_per_booking")]

    def __str__(self) -> str:
        return str(self.add_on)

    def clean(self):
        if self.add_on_id and self.booking_id and self.add_on.organisation_id != self.booking.organisation_id:
            raise ValidationError({"add_on": "This add-on belongs to another organisation."})

    @property
    def price_display(self) -> str:
        return format_price(self.price, self.currency)


def document_storage_path(document: "BookingDocument", filename: str) -> str:
    # The customer's own file name is kept in `original_name`, never in a path someone could guess.
    return storage_name("booking-documents", filename)


class BookingDocument(models.Model):
    """A file a customer supplies for a booking. Served only through a view that checks who asks."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="documents")
    uploaded_by = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to=document_storage_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(help_text="In bytes.")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        verbose_name = "booking document"

    def __str__(self) -> str:
        return self.original_name
