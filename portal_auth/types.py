"""What the portal attaches to Django's request, typed for views that read it."""

from django.http import HttpRequest

from portal_auth.models import Customer, Organisation, Portal


class PortalRequest(HttpRequest):
    """A request through `organisation_page` or `customer_required` (portal_auth/decorators.py).

    Never instantiated: views annotate their `request` with it, so mypy knows the attributes the decorators
    set: the portal asked for, its organisation, and the customer signed in to it, if any.
    """

    portal: Portal
    organisation: Organisation
    portal_customer: Customer | None
    # Set by portal_sign_in for the response: who this browser just signed in as (portal_auth.known_browsers).
    signed_in_now: Customer
