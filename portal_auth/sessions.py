"""The portal session: whatever door a customer came through, they end up here."""

import hashlib
from datetime import UTC, datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.core.cache import cache
from django.db.models import FilteredRelation, Q, QuerySet
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone

from portal_auth.access_log import log_access, printable
from portal_auth.drafts import DRAFTS_SESSION_KEY
from portal_auth.models import AccessEvent, Customer, CustomerSession, CustomerToken, Portal
from portal_auth.types import PortalRequest
from portal_core import page_cache
from portal_core.origin import ClientOrigin
from portal_core.prepared import PreparedQuery

SESSION_CUSTOMER = "portal_customer_id"
SESSION_VERSION = "portal_session_version"
SESSION_METHOD = "portal_sign_in_method"
SESSION_EXPIRES = "portal_expires_at"
SESSION_ORGANISATION = "portal_organisation_id"
# The CustomerSession row that lists this browser's session, and when its "last seen" was last written.
SESSION_ROW = "portal_session_id"
SESSION_SEEN = "portal_seen_at"
# "Last seen" is written at most this often (seconds) per session, so browsing costs no write per page.
SEEN_EVERY = 5 * 60
# When this session signed in, through whatever door.
SESSION_SIGNED_IN = "portal_signed_in_at"
# What needs fresh proof of who is asking (moving an account without a password to another mailbox) is done
# within this long of signing in: a session found open later, on a shared computer, signs in again first.
FRESH_SIGN_IN = timedelta(minutes=15)
# When the proof this session signed in with was issued: the emailed link's or sign-in URL's token when it was
# made, else the sign-in itself (a password, a code that lives ten minutes, the business's fifteen-minute sign-on).
SESSION_PROVED_AT = "portal_proved_at"
# How long a form sent again after its first sending carried the session over to a new key (a double click on a
# slow page) still finds that key (seconds): a browser waits this long for an answer at most.
CARRIED_OVER_FINDABLE = 5 * 60


def portal_sign_in(
    request: PortalRequest, customer: Customer, *, method: str, token: CustomerToken | None = None
) -> None:
    """Start a fresh portal session for `customer`, lasting the organisation's session lifetime."""
    # What was typed after the last session ended waits in this browser for the form it belongs to;
    # drafts.draft_take gives each only to the customer it was kept for.
    drafts = request.session.get(DRAFTS_SESSION_KEY)
    previous_row = request.session.get(SESSION_ROW)
    # A new session key defeats session fixation; drop whatever an earlier visitor left.
    request.session.flush()
    # As Django's own login(): a CSRF token seen before signing in is worthless after.
    rotate_token(request)
    lifetime = customer.organisation.session_lifetime
    now = timezone.now()
    origin = ClientOrigin.from_request(request)
    if previous_row is not None:
        # This browser's earlier session is over, whoever it was for.
        CustomerSession.objects.filter(pk=previous_row, ended_at__isnull=True).update(ended_at=now)
    row = _session_record(origin, customer, method=method, now=now, expires_at=now + lifetime)
    request.session[SESSION_CUSTOMER] = customer.pk
    request.session[SESSION_ORGANISATION] = customer.organisation_id
    request.session[SESSION_VERSION] = customer.session_version
    request.session[SESSION_METHOD] = method
    request.session[SESSION_EXPIRES] = int((now + lifetime).timestamp())
    request.session[SESSION_ROW] = row.pk
    request.session[SESSION_SEEN] = int(now.timestamp())
    request.session[SESSION_SIGNED_IN] = int(now.timestamp())
    request.session[SESSION_PROVED_AT] = int((token.created_at if token is not None else now).timestamp())
    request.session.set_expiry(int(lifetime.total_seconds()))
    if drafts:
        request.session[DRAFTS_SESSION_KEY] = drafts
    Customer.objects.filter(pk=customer.pk).update(last_sign_in_at=now)
    customer.last_sign_in_at = now
    if (portal := getattr(request, "portal", None)) is not None:
        portal_remember(customer, portal)
    # An unused password link is a way in lying in a mailbox; once the customer is in, by any door, it has
    # served no purpose the session doesn't serve, so it dies rather than wait out its hour.
    CustomerToken.objects.filter(customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD).live().revoke(now=now)
    request.portal_customer = customer
    request.signed_in_now = customer  # the browser is known from now on (portal_auth.known_browsers)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=AccessEvent.Kind.SIGN_IN,
        method=method,
        token=token,
    )


def proved_recently(request: HttpRequest) -> bool:
    """Whether this session signed in within FRESH_SIGN_IN by a proof issued within it (a session from before the
    time was kept did not). A link emailed weeks ago, forwarded or left in an old mailbox, signs in for a look
    (what it was sent for), and is no fresh proof that whoever holds it holds the mailbox now."""
    proved_at = request.session.get(SESSION_PROVED_AT)
    return proved_at is not None and timezone.now().timestamp() - proved_at < FRESH_SIGN_IN.total_seconds()


def session_carried_over(request: HttpRequest, customer: Customer, *, sent_once_token: str = "") -> None:
    """This browser's session, and the row that lists it, take the customer's new session version: every other
    session ended with the old one, and this one (which made the change) goes on, still listed.

    Under a new key: a copy of this browser's cookie (taken from a shared computer, say) is the very session the
    customer is ending the others for, and it must end with them. The form that asked, sent again with its
    `sent_once_token` and the old key, finds the new key for a while (`session_carried_over_before`).
    """
    row = request.session.get(SESSION_ROW)
    if row is not None:
        CustomerSession.objects.filter(pk=row, customer=customer).update(session_version=customer.session_version)
    request.session[SESSION_VERSION] = customer.session_version
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key and sent_once_token:
        cache.set(_carried_over_key(old_key, sent_once_token), request.session.session_key, CARRIED_OVER_FINDABLE)


def session_carried_over_before(request: PortalRequest, *, sent_once_token: str) -> Customer | None:
    """The customer this browser is signed in as, when this request is a form sent again whose first sending
    carried the session over (a double click, the first answer still on its way): the browser takes the new key,
    as the first answer gave it. None otherwise, and nothing changes.

    It takes the old key and the token of the very form that was sent: a copy of the cookie alone finds nothing.
    """
    old_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    new_key = cache.get(_carried_over_key(old_key, sent_once_token)) if old_key and sent_once_token else None
    if new_key is None:
        return None
    held, request.session = request.session, import_module(settings.SESSION_ENGINE).SessionStore(session_key=new_key)
    customer, _portal = customer_from_session(request, request.portal.slug)
    if customer is None:  # the session it was carried to has ended since
        request.session = held
        return None
    request.session.modified = True  # the answer hands the browser its new key
    request.portal_customer = customer
    return customer


def _carried_over_key(old_key: str, sent_once_token: str) -> str:
    return "portal:carried-over:" + hashlib.sha256(f"{old_key}:{sent_once_token}".encode()).hexdigest()


def portal_remember(customer: Customer, portal: Portal) -> None:
    """Note the portal the customer is in, which their emails will name: a write only when they change portal.

    None stands for the primary portal, whichever portal that is when an email is written.
    """
    remembered = None if portal.is_primary else portal.pk
    if customer.last_portal_id != remembered:
        Customer.objects.filter(pk=customer.pk).update(last_portal_id=remembered)
        customer.last_portal_id = remembered


def portal_sign_out(request: PortalRequest) -> None:
    customer = getattr(request, "portal_customer", None)
    if customer:
        log_access(
            origin=ClientOrigin.from_request(request),
            organisation=customer.organisation,
            customer=customer,
            kind=AccessEvent.Kind.SIGN_OUT,
        )
        session_row = request.session.get(SESSION_ROW)
        if session_row is not None:
            CustomerSession.objects.filter(pk=session_row, customer=customer).update(ended_at=timezone.now())
        # Nothing kept for the customer outlives a sign-out, in this browser or any other.
        page_cache.pages_changed(customer)
    request.session.flush()
    request.portal_customer = None


# What every signed-in page (and a form's POST) reads of who is asking, of their organisation and of the portal
# asked for. The rest (the password hash, the custom sign-on secrets) is read if ever asked for, in a query of its own.
ORGANISATION_FIELDS = (
    "name",
    "slug",
    "display_name",
    "requires_sign_in",
    "notification_links_sign_in",
    "support_email",
    "support_phone",
    "support_url",
    "doors",
    "time_zone",
    "footer_links",
)
PORTAL_FIELDS = (
    "organisation",
    "slug",
    "name",
    "is_primary",
    "accent_colour",
    "accent_text_colour",
    "logo",
    "favicon",
    "section_layout",
)
WHO_IS_ASKING = (
    "organisation",
    "email",
    "name",
    "session_version",
    "last_portal",
    *(f"organisation__{name}" for name in ORGANISATION_FIELDS),
)


def _who_is_asking(customer_id: int, portal_slug: str, session_row: int | None) -> QuerySet[Customer]:
    """The customer, if active, with their organisation and the portal of theirs at `portal_slug`.

    A session names the row that lists it (`session_row`), which must not have been ended from another browser;
    a session opened before rows were kept names none, and its customer's session version still bounds it.
    """
    row_not_ended = {} if session_row is None else {"sessions__pk": session_row, "sessions__ended_at__isnull": True}
    return (
        Customer.objects.annotate(
            asked_portal=FilteredRelation("organisation__portals", condition=Q(organisation__portals__slug=portal_slug))
        )
        .select_related("organisation", "asked_portal")  # type: ignore[misc]  # the stubs don't know FilteredRelations
        .only(*WHO_IS_ASKING)  # and the whole portal row: only() can't name a FilteredRelation's fields
        .filter(pk=customer_id, is_active=True, **row_not_ended)
        .order_by("pk")[:1]
    )


_WHO_IS_ASKING = PreparedQuery(_who_is_asking)


def customer_from_session(request: HttpRequest, portal_slug: str) -> tuple[Customer | None, Portal | None]:
    """The customer this session names, with their organisation, and their organisation's portal at `portal_slug`.

    One query. The portal is None when the address is none of the customer's organisation's portals; the
    customer is None when the session names nobody alive.
    """
    session = request.session
    customer_id = session.get(SESSION_CUSTOMER)
    if customer_id is None:
        return None, None
    if session.get(SESSION_EXPIRES, 0) < timezone.now().timestamp():
        return None, None
    found = _WHO_IS_ASKING(customer_id=customer_id, portal_slug=portal_slug, session_row=session.get(SESSION_ROW))
    customer = found[0] if found else None
    if customer is None or customer.session_version != session.get(SESSION_VERSION):
        return None, None
    session_seen(request, customer)
    portal = getattr(customer, "asked_portal", None)  # not set when no portal of theirs has the address
    if portal is not None:
        portal.organisation = customer.organisation
    return customer, portal


_PORTAL_AT = PreparedQuery(
    lambda slug: (
        Portal.objects.select_related("organisation")
        .only(*PORTAL_FIELDS, *(f"organisation__{name}" for name in ORGANISATION_FIELDS))
        .filter(slug=slug)
        .order_by("pk")[:1]
    )
)


def portal_at(slug: str) -> Portal | None:
    """The portal at an address, with its organisation: what a page shows a visitor who is not signed in (the
    sign-in doors: a query compiled once, not on each of a sign-in storm's requests)."""
    found = _PORTAL_AT(slug=slug)
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# The rows that list a customer's sessions ("Your sessions", portal_auth/account.py)


def _session_record(
    origin: ClientOrigin, customer: Customer, *, method: str, now: datetime, expires_at: datetime
) -> CustomerSession:
    return CustomerSession.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        method=method,
        session_version=customer.session_version,
        ip=origin.ip,
        user_agent=printable(origin.user_agent),
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )


def session_seen(request: HttpRequest, customer: Customer | None = None) -> None:
    """Note on the session's row that its browser is here, at most once per SEEN_EVERY.

    The session keeps when it last wrote, so a page view in between costs no query. A session opened before
    rows were kept gets its row here, once `customer` is known to be the one it names.
    """
    session = request.session
    now = timezone.now()
    if now.timestamp() - session.get(SESSION_SEEN, 0) < SEEN_EVERY:
        return
    row_id = session.get(SESSION_ROW)
    if row_id is not None:
        CustomerSession.objects.filter(pk=row_id, ended_at__isnull=True).update(last_seen_at=now)
    elif customer is not None:
        expires_at = datetime.fromtimestamp(session[SESSION_EXPIRES], tz=UTC)
        origin = ClientOrigin.from_request(request)
        row = _session_record(origin, customer, method=session.get(SESSION_METHOD, ""), now=now, expires_at=expires_at)
        session[SESSION_ROW] = row.pk
    else:
        return
    session[SESSION_SEEN] = int(now.timestamp())
