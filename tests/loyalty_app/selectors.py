from django.db.models import QuerySet

from portal_auth.models import Customer, Organisation, normalise_email
from portal_auth.page_cache import customers_scopes
from tests.loyalty_app.models import Membership


def memberships_for(customer: Customer) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=customer.organisation_id, email=customer.email).order_by("programme")


def organisation_has_member_email(organisation: Organisation, email: str) -> bool:
    return Membership.objects.filter(organisation=organisation, email=normalise_email(email)).exists()


def membership_page_scopes(membership: Membership) -> list[str]:
    customers = Customer.objects.filter(
        organisation=membership.organisation_id, email=normalise_email(membership.email)
    )
    return customers_scopes(customers.values_list("pk", flat=True))
