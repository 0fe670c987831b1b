"""What a customer tells the business about themselves, and their pending change of email address.

The identity (email, name, which optional emails they want) stays on portal_auth.Customer, which every
app reads; what only the profile page shows lives here, one row per customer, read by that page alone.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal_auth.models import Customer, Organisation


def language_choices() -> list[tuple[str, str]]:
    return sorted(settings.LANGUAGES, key=lambda choice: str(choice[1]))


class Profile(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    phone = models.CharField(max_length=40, blank=True)
    address_line_1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line_2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField("postcode or ZIP code", max_length=16, blank=True)
    country = models.CharField(max_length=100, blank=True)
    language = models.CharField("preferred language", max_length=16, blank=True, choices=language_choices)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.customer_id}"

    @property
    def address_lines(self) -> list[str]:
        """The postal address as it is written on an envelope, one line each, without empty ones."""
        town = " ".join(filter(None, (self.postcode, self.city)))
        return [line for line in (self.address_line_1, self.address_line_2, town, self.country) if line]


class EmailChange(models.Model):
    """A customer's request to use another email address, waiting for the link emailed there to be opened.

    One per customer: asking again replaces it. Only the link's hash is kept. It is bound to the customer's
    session version, so whatever ends their sessions (a new password, links revoked by staff) ends it too.
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="email_change")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    new_email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    session_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Email change of {self.customer_id} to {self.new_email}"

    @property
    def is_usable(self) -> bool:
        customer = self.customer
        return (
            customer.is_active and customer.session_version == self.session_version and self.expires_at > timezone.now()
        )

    # Asked again this soon, for the same address (a double click, or a press again while the email is on its
    # way), it is the same request: nothing is sent again and the link already sent stays the one that works.
    REPEATED_WITHIN = timedelta(minutes=2)

    def repeated_by(self, new_email: str) -> bool:
        recent = timezone.now() - self.created_at < self.REPEATED_WITHIN
        return self.new_email == new_email and recent and self.is_usable
