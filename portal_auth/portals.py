"""An organisation's portals: which one a customer's emails lead to, and the paths inside them."""

from collections.abc import Callable

from django.urls import reverse

from portal_auth.models import Customer, Organisation, Portal


def portal_chooser(organisation_id: int) -> Callable[[Customer], Portal]:
    """For emails to many customers of one organisation: each customer's portal, from one query.

    A customer's portal is the one they were last in, or the primary one (when they never opened a portal, or
    the one they were last in is gone).
    """
    portals = {portal.pk: portal for portal in Portal.objects.filter(organisation_id=organisation_id)}
    primary = next(portal for portal in portals.values() if portal.is_primary)
    return lambda customer: portals.get(customer.last_portal_id, primary) if customer.last_portal_id else primary


def customer_portal(customer: Customer) -> Portal:
    """The portal a customer's emails name and lead to."""
    return portal_chooser(customer.organisation_id)(customer)


def primary_portal(organisation: Organisation) -> Portal:
    return Portal.objects.get(organisation=organisation, is_primary=True)


def portal_path(portal: Portal, route: str, **kwargs) -> str:
    """The path of a page of `portal`: `route` is a URL name taking `org` (the portal's address) and `kwargs`."""
    return reverse(route, kwargs={"org": portal.slug, **kwargs})


def portal_address(path: str) -> str:
    """The portal address a path starts with (`/<address>/…`), or ""."""
    address, slash, _ = path.removeprefix("/").partition("/")
    return address if path.startswith("/") and slash else ""


def portal_of_path(organisation: Organisation, path: str) -> Portal | None:
    """The organisation's portal a path is inside, or None."""
    address = portal_address(path)
    return Portal.objects.filter(organisation=organisation, slug=address).first() if address else None


def customer_page(customer: Customer, route: str, **kwargs) -> str:
    """The path of a page in the customer's portal, for an email to them."""
    return portal_path(customer_portal(customer), route, **kwargs)
