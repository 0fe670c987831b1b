from django.db.models import QuerySet

from portal_auth.models import Customer, Organisation, normalise_email
from tests.loyalty_app.models import Membership


def memberships_for(customer: Customer) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=customer.organisation_id, email=customer.email).order_by("programme")


def organisation_has_member_email(organisation: Organisation, email: str) -> bool:
    return Membership.objects.filter(organisation=organisation, email=normalise_email(email)).exists()
