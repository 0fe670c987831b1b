"""Sign-in URLs from the business's app: its backend asks the API for one, the browser opens it within 30 seconds.

The token is 384 random bits, stored only as its hash, scoped to its organisation, usable once (claimed by one
conditional update) and for SIGN_IN_REDIRECT_LIFETIME. Whoever holds the URL in those seconds holds the session
it opens: an organisation that wants a person's press first (`redirect_confirms`) gets a page naming the account.
"""

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from portal_auth.access_log import log_access
from portal_auth.doors.registry import API_REDIRECT, door_is_open
from portal_auth.doors.tokens import token_by_hash
from portal_auth.models import AccessEvent, Customer, CustomerToken, Organisation
from portal_auth.portals import customer_portal, portal_of_path, portal_path, primary_portal
from portal_auth.sessions import portal_sign_in
from portal_auth.types import PortalRequest
from portal_core.origin import ClientOrigin

METHOD = API_REDIRECT
PURPOSE = CustomerToken.Purpose.SIGN_IN_REDIRECT
RETURN_TO_MAX_LENGTH = 300


class RedirectsClosed(Exception):
    """The organisation has not opened the door of sign-in URLs."""


class ReturnToRefused(ValueError):
    """`return_to` is not a path inside the organisation's portal."""


_DOT_SEGMENTS = frozenset({".", ".."})


def return_to_checked(*, organisation: Organisation, return_to: str) -> str:
    """Where a sign-in URL may lead: a path inside one of this organisation's portals, or "" for the home of the
    customer's own portal (see `sign_in_redirect_issue`)."""
    if not return_to:
        return ""
    inside = (
        len(return_to) <= RETURN_TO_MAX_LENGTH
        and return_to.isprintable()
        and "\\" not in return_to
        and url_has_allowed_host_and_scheme(return_to, allowed_hosts=set())
        # The browser resolves dot segments ("/own/../other/", "%2e%2e" too) before asking: out of the portal.
        and not _DOT_SEGMENTS.intersection(unquote(urlsplit(return_to).path).split("/"))
        and portal_of_path(organisation, return_to) is not None
    )
    if not inside:
        primary = primary_portal(organisation)
        raise ReturnToRefused(f"return_to must be a path inside a portal of yours, such as /{primary.slug}/.")
    return return_to


@transaction.atomic
def sign_in_redirect_issue(
    *, organisation: Organisation, customer: Customer, return_to: str, key_name: str, origin: ClientOrigin | None
) -> tuple[CustomerToken, str]:
    """A sign-in URL for `customer` leading to `return_to` (checked by the caller; "" for the home of their
    portal), and its token's row. The URL is on the portal it leads to.

    Raises RedirectsClosed where the organisation has not opened this door.
    """
    if not door_is_open(organisation, API_REDIRECT):
        raise RedirectsClosed(f"{organisation.public_name} has not opened sign-in URLs from its app.")
    portal = (portal_of_path(organisation, return_to) if return_to else None) or customer_portal(customer)
    next_path = return_to or portal_path(portal, "portal_home")
    token, raw = CustomerToken.issue(
        customer=customer, purpose=PURPOSE, lifetime=settings.SIGN_IN_REDIRECT_LIFETIME, next_path=next_path
    )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        kind=AccessEvent.Kind.SIGN_IN_REDIRECT_ISSUED,
        method=METHOD,
        reason=f"API key “{key_name}”"[:200],
        token=token,
    )
    url = settings.SITE_URL + portal_path(portal, "portal_auth:sign_in_redirect", token=raw)
    return token, url


def _refusal_reason(token: CustomerToken | None) -> str:
    if token is None:
        return "unknown URL"
    if token.used_at is not None:
        return "used URL"
    if token.revoked_at is not None:
        return "revoked URL"
    if token.expires_at <= timezone.now():
        return "expired URL"
    if not token.customer.is_active:
        return "customer deactivated"
    return ""


def sign_in_redirect_check(
    *, origin: ClientOrigin, organisation: Organisation, token_hash: str
) -> CustomerToken | None:
    """The live sign-in URL's token with this hash, or None with the refusal logged. Opens no session.

    Raises RateLimited when this address has been refused too often: guessing gets nowhere.
    """
    token = token_by_hash(
        guess_action="sign_in_redirect_guess",
        origin=origin,
        organisation=organisation,
        purposes=[PURPOSE],
        token_hash=token_hash,
    )
    reason = _refusal_reason(token)
    if not reason:
        return token
    _refuse(origin, organisation, token, reason)
    return None


def _refuse(origin: ClientOrigin, organisation: Organisation, token: CustomerToken | None, reason: str) -> None:
    log_access(
        origin=origin,
        organisation=organisation,
        customer=token.customer if token else None,
        kind=AccessEvent.Kind.SIGN_IN_REDIRECT_REFUSED,
        method=METHOD,
        reason=reason,
        token=token,
    )


def sign_in_redirect_open(
    *, request: PortalRequest, organisation: Organisation, token_hash: str
) -> CustomerToken | None:
    """Use the sign-in URL's token: a portal session for its customer, or None (refused and logged)."""
    origin = ClientOrigin.from_request(request)
    token = sign_in_redirect_check(origin=origin, organisation=organisation, token_hash=token_hash)
    if token is None:
        return None
    # Claimed by one conditional update: of two opens at once, exactly one signs in.
    claimed = CustomerToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not claimed:
        _refuse(origin, organisation, token, "used URL")
        return None
    portal_sign_in(request, token.customer, method=METHOD, token=token)
    return token
