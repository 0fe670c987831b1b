"""An organisation's portals: which one a customer's emails lead to, and the paths inside them."""

from collections.abc import Callable

from django.urls import reverse

from portal_auth.models import Customer, Organisation, Portal


def portal_chooser(organisation_id: int, section: str = "") -> Callable[[Customer], Portal]:
    """For emails to many customers of one organisation: each customer's portal, from one query.

    A customer's portal is the one they were last in, or the primary one (when they never opened a portal, or
    the one they were last in is gone). For an email leading into `section` (a URL namespace: "tickets"), a portal
    that hides it is passed over for the primary one, or else the first that shows it: a link never 404s.
    """
    from portal_auth.portal_sections import section_enabled  # it reads portals' layouts: imports this module's

    portals = {portal.pk: portal for portal in Portal.objects.filter(organisation_id=organisation_id)}
    primary = next(portal for portal in portals.values() if portal.is_primary)
    showing = [primary, *(portal for portal in portals.values() if not portal.is_primary)]
    if section:
        showing = [portal for portal in showing if section_enabled(portal, section)] or [primary]

    def chosen(customer: Customer) -> Portal:
        last = portals.get(customer.last_portal_id) if customer.last_portal_id else None
        return last if last is not None and last in showing else showing[0]

    return chosen


def customer_portal(customer: Customer, section: str = "") -> Portal:
    """The portal a customer's emails name and lead to (into `section`, where one is named: see portal_chooser)."""
    return portal_chooser(customer.organisation_id, section)(customer)


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
    """The path of a page in the customer's portal, for an email to them: a portal that shows the route's section."""
    return portal_path(customer_portal(customer, route.partition(":")[0]), route, **kwargs)
