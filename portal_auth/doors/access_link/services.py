"""The emailed access link: a 30-day token that opens a portal session for its customer.

Identity knows nothing of the domain apps: an app that sends links describes its door (where
the link leads, what its emails say, whom a requested link may go to) in an AccessLinkDoor.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from outbox.services import EmailDraft, emails_enqueue
from portal_auth.access_log import access_event_new, log_access
from portal_auth.doors.registry import ACCESS_LINK, door_is_open
from portal_auth.doors.tokens import token_by_hash
from portal_auth.models import AccessEvent, Customer, CustomerToken, Organisation, Portal, normalise_email
from portal_auth.portals import customer_portal, portal_address, portal_chooser, portal_of_path, portal_path
from portal_auth.sessions import portal_sign_in
from portal_auth.types import PortalRequest
from portal_core import page_cache
from portal_core.origin import ClientOrigin

METHOD = ACCESS_LINK


@dataclass(frozen=True)
class AccessLinkDoor:
    link_route: str  # URL name (kwargs org, token) of the emailed link
    confirm_route: str  # URL name (kwarg org) of the page whose button opens the session
    refused_route: str  # URL name (kwarg org) where a refused link lands: it offers a new link
    sent_route: str  # URL name (kwarg org) of the "check your email" page
    landing_route: str  # URL name (kwarg org) a link the customer asked for leads to
    email_template: str  # the email of a link the customer asked for
    email_source: str  # dotted path of (organisation, email) -> bool: whom a requested link may reach
    what: str  # what the links open, for the pages' wording: "support tickets"
    what_held: str = ""  # what an address must have for a new link, if not `what`: "an account"


# A link in a notification email opens the page it names once; a link staff or the customer asked for
# opens its page again and again for its 30 days.
LINK_PURPOSES = CustomerToken.LINK_PURPOSES


def access_link_url(*, next_path: str, link_route: str, raw: str) -> str:
    """The emailed link, on the portal its page is in: a link always opens the portal it leads into."""
    return settings.SITE_URL + reverse(link_route, kwargs={"org": portal_address(next_path), "token": raw})


class LinkNotSent(Exception):
    """No link was sent, for the reason it says."""


class AccessLinksClosed(LinkNotSent):
    """The organisation has closed its emailed-link door: no link that signs in may be sent."""


class CustomerDeactivated(LinkNotSent):
    """The customer is deactivated: a link could never sign them in, and asking for another would send nothing."""


@transaction.atomic
def access_link_send(
    *,
    customer: Customer,
    next_path: str,
    created_by: AbstractBaseUser | None,
    link_route: str,
    email_template: str,
    email_context: dict | None = None,
    origin: ClientOrigin | None = None,
) -> CustomerToken:
    """Issue a link that opens `next_path` and email it; the raw token exists only in that email.

    Raises AccessLinksClosed where the organisation has closed the door: a link behind it would only 404;
    CustomerDeactivated for a deactivated customer, whom no link signs in.
    """
    if not customer.is_active:
        raise CustomerDeactivated(f"{customer.email} is deactivated: a link could never sign them in.")
    (token,) = access_links_send(
        organisation=customer.organisation,
        links=[PlannedLink(customer=customer, next_path=next_path, email_context=email_context or {})],
        created_by=created_by,
        link_route=link_route,
        email_template=email_template,
        origin=origin,
    )
    return token


class PlannedLink(NamedTuple):
    """One link of `access_links_send`: whom it goes to, where it leads, what its email is given."""

    customer: Customer
    next_path: str
    email_context: dict


@transaction.atomic
def access_links_send(
    *,
    organisation: Organisation,
    links: Sequence[PlannedLink],
    created_by: AbstractBaseUser | None,
    link_route: str,
    email_template: str,
    origin: ClientOrigin | None = None,
) -> list[CustomerToken]:
    """`access_link_send` for many customers of one organisation, all or none: one INSERT each for the
    tokens, the emails and the log, however many links. Deactivated customers, whom no link signs in, get none."""
    if any(link.customer.organisation_id != organisation.pk for link in links):
        raise ValueError("Every link must go to a customer of this organisation.")
    links = [link for link in links if link.customer.is_active]
    if not door_is_open(organisation, ACCESS_LINK):
        raise AccessLinksClosed(f"{organisation.public_name} has closed emailed sign-in links.")
    if any(not portal_address(link.next_path) for link in links):
        # A link leading nowhere in particular leads to the home of the customer's portal.
        portal_of = portal_chooser(organisation.pk)
        links = [
            link
            if portal_address(link.next_path)
            else link._replace(next_path=portal_path(portal_of(link.customer), "portal_home"))
            for link in links
        ]
    issued = [
        CustomerToken.prepare(
            customer=link.customer,
            purpose=CustomerToken.Purpose.ACCESS_LINK,
            lifetime=settings.ACCESS_LINK_LIFETIME,
            created_by=created_by,
            next_path=link.next_path,
        )
        for link in links
    ]
    tokens = CustomerToken.objects.bulk_create([token for token, _raw in issued])
    portals = {portal.slug: portal for portal in Portal.objects.filter(organisation=organisation)}
    drafts = []
    for link, (token, raw) in zip(links, issued, strict=True):
        url = access_link_url(next_path=link.next_path, link_route=link_route, raw=raw)
        context = {
            **link.email_context,
            "customer": link.customer,
            "portal": portals.get(portal_address(link.next_path)),
            "link": url,
            "expires_at": token.expires_at,
        }
        drafts.append(
            EmailDraft(to=link.customer.email, context=context, secrets=(url,), useless_after=token.expires_at)
        )
    emails_enqueue(organisation=organisation, template=email_template, drafts=drafts)
    AccessEvent.objects.bulk_create(
        access_event_new(
            origin=origin,
            organisation=organisation,
            customer=link.customer,
            kind=AccessEvent.Kind.ACCESS_LINK_SENT,
            method=METHOD,
            staff_user=created_by,
            token=token,
        )
        for link, token in zip(links, tokens, strict=True)
    )
    return tokens


def _refusal_reason(token: CustomerToken | None) -> str:
    if token is None:
        return "unknown link"
    if token.used_at is not None and token.purpose == CustomerToken.Purpose.SIGN_IN_LINK:
        return "used link"
    if token.revoked_at is not None:
        return "revoked link"
    if token.expires_at <= timezone.now():
        return "expired link"
    if not token.customer.is_active:
        return "customer deactivated"
    return ""


def access_link_check(*, origin: ClientOrigin, organisation: Organisation, token_hash: str) -> CustomerToken | None:
    """The live link whose token has this hash, with its customer; or None, with the refusal logged.

    Opens no session. Raises RateLimited when this IP has been refused too often: guessing gets nowhere.
    """
    # A used or expired link clicked again (an office behind one address, say) is no guess: only a hash that
    # matches no link uses up the allowance that keeps guessing from getting anywhere.
    token = token_by_hash(
        guess_action="access_link_guess",
        origin=origin,
        organisation=organisation,
        purposes=LINK_PURPOSES,
        token_hash=token_hash,
    )
    reason = _refusal_reason(token)
    if not reason:
        return token
    _refuse(origin, organisation, token, reason)
    return None


def access_link_of(*, customer: Customer, token_hash: str) -> CustomerToken | None:
    """The link with this hash if it is `customer`'s own, whatever its state: for a customer already signed in."""
    if not token_hash:
        return None
    return CustomerToken.objects.filter(customer=customer, purpose__in=LINK_PURPOSES, token_hash=token_hash).first()


def _refuse(origin: ClientOrigin, organisation: Organisation, token: CustomerToken | None, reason: str) -> None:
    log_access(
        origin=origin,
        organisation=organisation,
        customer=token.customer if token else None,
        kind=AccessEvent.Kind.ACCESS_LINK_REFUSED,
        method=METHOD,
        reason=reason,
        token=token,
    )


def access_link_open(*, request: PortalRequest, organisation: Organisation, token_hash: str) -> CustomerToken | None:
    """Exchange a link's token for a portal session, or refuse it; both are logged, never the token.

    Only ever called on a POST: whoever opens the session has pressed the button that names its account.
    """
    # The session is what this door opens, so it takes the request; what it logs comes from the request too.
    origin = ClientOrigin.from_request(request)
    token = access_link_check(origin=origin, organisation=organisation, token_hash=token_hash)
    if token is None:
        return None
    if token.purpose == CustomerToken.Purpose.SIGN_IN_LINK:
        # Claimed by one conditional update: of two presses at once, exactly one signs in.
        claimed = CustomerToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not claimed:
            _refuse(origin, organisation, token, "used link")
            return None
    log_access(
        origin=origin,
        organisation=organisation,
        customer=token.customer,
        kind=AccessEvent.Kind.ACCESS_LINK_USED,
        token=token,
    )
    portal_sign_in(request, token.customer, method=METHOD, token=token)
    return token


def _links_said(access_links: int, password_links: int) -> str:
    said = f"{access_links} link{'s' if access_links != 1 else ''}"
    if password_links:
        said += f" and {password_links} password link{'s' if password_links != 1 else ''}"
    return said


def links_revoke(*, customer: Customer, origin: ClientOrigin | None, staff_user: AbstractBaseUser | None = None) -> int:
    """Revoke every live emailed link of the customer, unused password links included, and log it.

    Returns how many links were revoked. A password link is revoked too: it is another way in by email.
    The sessions the links opened are the caller's to end.
    """
    now = timezone.now()
    live = CustomerToken.objects.filter(customer=customer).live()
    access_links = live.filter(purpose__in=LINK_PURPOSES).revoke(now=now)
    password_links = live.filter(purpose=CustomerToken.Purpose.SET_PASSWORD).revoke(now=now)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=AccessEvent.Kind.ACCESS_LINKS_REVOKED,
        reason=_links_said(access_links, password_links),
        staff_user=staff_user,
    )
    return access_links + password_links


@transaction.atomic
def access_links_revoke(*, customer: Customer, staff_user: AbstractBaseUser, origin: ClientOrigin | None = None) -> int:
    """Staff revoke every live link of the customer (see `links_revoke`) and end their sessions.

    Returns how many links were revoked.
    """
    revoked = links_revoke(customer=customer, origin=origin, staff_user=staff_user)
    # A session opened by a link outlives the link unless every session of the customer ends now.
    Customer.objects.filter(pk=customer.pk).update(session_version=F("session_version") + 1)
    page_cache.pages_changed(customer)
    return revoked


def access_link_request(
    *,
    origin: ClientOrigin,
    organisation: Organisation,
    email: str,
    door: AccessLinkDoor,
    portal: Portal | None = None,
    next_path: str = "",
) -> None:
    """A customer asks for a new link. Sent only where the door's source knows the email; silent otherwise.

    The link leads to `portal`, the one it was asked from, else to the customer's own: to `next_path`, the page
    that asked for a sign-in, when it is inside `portal`, else to the door's landing page."""
    email = normalise_email(email)
    customer = Customer.objects.filter(organisation=organisation, email=email, is_active=True).first()
    # The door may have closed since the request was answered: then nothing is sent, as for an unknown email.
    if customer is None or not door_is_open(organisation, ACCESS_LINK):
        return
    if not import_string(door.email_source)(organisation, email):
        return
    if portal is None or portal_address(next_path) != portal.slug:
        next_path = portal_path(portal or customer_portal(customer), door.landing_route)
    access_link_send(
        customer=customer,
        next_path=next_path,
        created_by=None,
        link_route=door.link_route,
        email_template=door.email_template,
        origin=origin,
    )


def customer_is_known(organisation: Organisation, email: str) -> bool:
    """Whom the portal's own door sends a requested link: any active customer (checked by the caller)."""
    return True


# The portal's own door, for links into any section: refused links offer a new one to the portal home.
PORTAL_DOOR = AccessLinkDoor(
    link_route="portal_auth:sign_in_link",
    confirm_route="portal_auth:sign_in_link_open",
    refused_route="portal_auth:sign_in_link_refused",
    sent_route="portal_auth:sign_in_link_sent",
    landing_route="portal_home",
    email_template="portal_auth/emails/portal_link_requested",
    email_source="portal_auth.doors.access_link.services.customer_is_known",
    what="portal",
    what_held="an account",
)


@dataclass(frozen=True)
class EmailLink:
    """The link a notification email carries into the portal, and what the outbox must scrub once it is sent."""

    url: str
    signs_in: bool
    expires_at: datetime | None = None
    portal: Portal | None = None  # the portal it leads into, whose name and look the email wears

    @property
    def secrets(self) -> list[str]:
        return [self.url] if self.signs_in else []

    def context(self) -> dict:
        return {
            "link": self.url,
            "link_signs_in": self.signs_in,
            "link_expires_at": self.expires_at,
            "portal": self.portal,
        }


def notification_link_make(
    *,
    customer: Customer,
    next_path: str,
    link_route: str = PORTAL_DOOR.link_route,
    created_by: AbstractBaseUser | None = None,
    origin: ClientOrigin | None = None,
) -> EmailLink:
    """The link to `next_path` for an email to `customer`, made inside the email's transaction.

    Where the organisation lets notification links sign in (its access-link door open), a single-use access link
    through the door routed at `link_route` (logged as sent); otherwise the page itself, which asks for a sign-in.
    """
    organisation = customer.organisation
    portal = portal_of_path(organisation, next_path)
    signs_in = organisation.notification_links_sign_in and door_is_open(organisation, ACCESS_LINK)
    if not (signs_in and customer.is_active):
        return EmailLink(url=settings.SITE_URL + next_path, signs_in=False, portal=portal)
    token, raw = CustomerToken.issue(
        customer=customer,
        purpose=CustomerToken.Purpose.SIGN_IN_LINK,
        lifetime=settings.ACCESS_LINK_LIFETIME,
        created_by=created_by,
        next_path=next_path,
    )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        kind=AccessEvent.Kind.ACCESS_LINK_SENT,
        method=METHOD,
        staff_user=created_by,
        token=token,
    )
    url = access_link_url(next_path=next_path, link_route=link_route, raw=raw)
    return EmailLink(url=url, signs_in=True, expires_at=token.expires_at, portal=portal)
