import secrets

from django.db import models

from portal_auth.models import Organisation, normalise_email


def new_booking_reference() -> str:
    # 22 URL-safe characters: 128 bits of randomness, so a portal link can't be guessed.
    return secrets.token_urlsafe(16)


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

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_on:%d %b %Y})"


class Attendee(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="attendees")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, db_index=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)
