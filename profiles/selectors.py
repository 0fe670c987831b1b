from portal_auth.models import Customer
from profiles.models import EmailChange, Profile


def customer_with_profile(customer: Customer) -> Customer:
    """The signed-in customer read whole, with their profile and pending email change: one query."""
    return Customer.objects.select_related("organisation", "profile", "email_change").get(
        pk=customer.pk, organisation_id=customer.organisation_id
    )


def profile_of(customer: Customer) -> Profile:
    """Their profile as `customer_with_profile` read it, or an empty one (nothing is written until they save)."""
    try:
        return customer.profile
    except Profile.DoesNotExist:
        return Profile(customer=customer)


def pending_email_change(customer: Customer) -> EmailChange | None:
    """The request `customer_with_profile` read, while its link still works."""
    try:
        change = customer.email_change
    except EmailChange.DoesNotExist:
        return None
    return change if change.is_usable else None
