from bookings.models import Attendee
from portal_auth.models import Organisation


def organisation_has_attendee_email(organisation: Organisation, email: str) -> bool:
    """Whether `email` is an attendee's on any booking of the organisation (the main contact's never counts)."""
    return Attendee.objects.filter(booking__organisation=organisation, email=email).exists()
