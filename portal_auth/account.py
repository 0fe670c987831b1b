"""A customer's own access: how they got in lately, the sessions they have open, and ending them.

Ending a session marks its CustomerSession row; the browser that holds it is signed out on its next
request, which `customer_from_session` answers only for a row not ended (portal_auth/sessions.py), and
which the page cache can't answer from a page kept before: every ending makes the customer's pages stale.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal_auth.access_log import LookRefused, log_access
from portal_auth.browsers import browser_in_words
from portal_auth.doors.access_link.services import links_revoke
from portal_auth.doors.registry import door_said
from portal_auth.models import AccessEvent, Customer, CustomerSession
from portal_auth.sessions import SESSION_ROW, SESSION_VERSION, session_carried_over
from portal_auth.types import PortalRequest
from portal_core import page_cache
from portal_core.origin import ClientOrigin

RECENT_ACCESS_DAYS = 90
# Past this many, the newest are shown: what matters is what happened lately.
RECENT_ACCESS_SHOWN = 100
SESSIONS_SHOWN = 50

Kind = AccessEvent.Kind

# Each way in, whatever the door, ends in one SIGN_IN naming its door (sessions.portal_sign_in): a link, a
# code or a sign-on used is that event, so listing the doors' own "used" events too would show each twice.
WAYS_IN = (Kind.SIGN_IN,)
# Attempts refused that the log ties to this customer: their links and sign-in URLs, codes sent to them.
# A wrong password is logged with the email typed, not a customer, and is left to the staff's access log.
REFUSED = (Kind.ACCESS_LINK_REFUSED, Kind.SIGN_IN_CODE_REFUSED, Kind.SIGN_IN_REDIRECT_REFUSED)


@dataclass(frozen=True)
class AccessRow:
    at: datetime
    what: str  # "Signed in with an emailed link"; refused: "An emailed link (expired link)"
    refused: bool
    browser: str
    ip: str


def recent_access(customer: Customer) -> list[AccessRow]:
    """The customer's own ways in and refused attempts of the last RECENT_ACCESS_DAYS, newest first.

    One query on the access log's index (customer, -created_at), read backwards from now and stopped after
    RECENT_ACCESS_SHOWN + 1 rows, so its cost doesn't grow with the log.
    """
    since = timezone.now() - timedelta(days=RECENT_ACCESS_DAYS)
    events = (
        AccessEvent.objects.filter(customer=customer, kind__in=(*WAYS_IN, *REFUSED), created_at__gte=since)
        .only("kind", "method", "reason", "ip", "user_agent", "created_at")
        .order_by("-created_at")[: RECENT_ACCESS_SHOWN + 1]
    )
    return [_access_row(event, customer) for event in events]


def _access_row(event: AccessEvent, customer: Customer) -> AccessRow:
    door = door_said(event.method, customer.organisation)
    refused = event.kind in REFUSED
    if refused:
        # The door's words and the log's reason: "An emailed code (expired)".
        what = door[:1].upper() + door[1:] + (f" ({event.reason})" if event.reason else "")
    else:
        what = f"Signed in with {door}"
    return AccessRow(
        at=event.created_at,
        what=what,
        refused=refused,
        browser=browser_in_words(event.user_agent),
        ip=event.ip or "unknown",
    )


@dataclass(frozen=True)
class SessionRow:
    id: int
    browser: str
    door: str
    ip: str
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool


def _live(customer: Customer):
    # A session also ends when the customer's session version moves on (a password change, staff revoking
    # links) or its lifetime runs out, though no one marks its row: those are not live either.
    return customer.sessions.filter(
        ended_at__isnull=True, session_version=customer.session_version, expires_at__gt=timezone.now()
    )


def customer_sessions(customer: Customer, *, current_id: int | None = None) -> list[SessionRow]:
    """The customer's live sessions, the most recently seen first; `current_id` is this browser's."""
    sessions = _live(customer).order_by("-last_seen_at")[:SESSIONS_SHOWN]
    return [
        SessionRow(
            id=session.pk,
            browser=browser_in_words(session.user_agent),
            door=door_said(session.method, customer.organisation),
            ip=session.ip or "unknown",
            signed_in_at=session.created_at,
            last_seen_at=session.last_seen_at,
            current=session.pk == current_id,
        )
        for session in sessions
    ]


def get_session_for(customer: Customer, session_id: int) -> CustomerSession:
    """One of the customer's own sessions, ended or not; anyone else's (or none) is a LookRefused, a 404."""
    session = customer.sessions.filter(pk=session_id).first()
    if session is None:
        raise LookRefused(f"session {session_id}")
    return session


@transaction.atomic
def session_end(*, customer: Customer, session_id: int, origin: ClientOrigin) -> bool:
    """End one of the customer's sessions; False if it had ended already. Raises LookRefused if not theirs."""
    session = get_session_for(customer, session_id)
    ended = _live(customer).filter(pk=session.pk).update(ended_at=timezone.now())
    if not ended:
        return False
    # Its browser's pages are kept under the customer's version: a new one leaves none to serve it.
    page_cache.pages_changed(customer)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=Kind.SESSION_ENDED,
        method=session.method,
        reason=f"{browser_in_words(session.user_agent)}, signed in {session.created_at:%Y-%m-%d %H:%M} UTC",
    )
    return True


@transaction.atomic
def sign_out_everywhere(
    request: PortalRequest, customer: Customer, *, sent_once_token: str = ""
) -> tuple[int, int] | None:
    """End every session of the customer but this browser's, and revoke every emailed link of theirs.

    Sessions end with the customer's session version, so one that no row lists (opened before rows were
    kept) ends too; this browser's session and its row take the new version and stay signed in.
    Returns how many listed sessions and how many links ended; None, changing nothing, when this browser's own
    session ended after the request was let in (a password change, a staff reset, "End" from another browser):
    an ended session must not outlive its end by starting a version of its own. The same form sent again
    (`sent_once_token`) finds where this browser's session went (sessions.session_carried_over_before).
    """
    origin = ClientOrigin.from_request(request)
    current_id = request.session.get(SESSION_ROW)
    # Locked, so an "End" of this very session from another browser is seen whichever commits first.
    if current_id is not None and not _live(customer).filter(pk=current_id).select_for_update().exists():
        return None
    # Raised from the version this session holds, not from whatever the row holds now: behind a password change
    # in progress, the UPDATE waits for it and then matches nothing.
    held = request.session.get(SESSION_VERSION)
    if held is None:
        return None
    raised = Customer.objects.filter(pk=customer.pk, session_version=held).update(
        session_version=F("session_version") + 1
    )
    if not raised:
        return None
    others = _live(customer).exclude(pk=current_id) if current_id is not None else _live(customer)
    sessions = others.update(ended_at=timezone.now())
    customer.refresh_from_db(fields=["session_version"])
    session_carried_over(request, customer, sent_once_token=sent_once_token)
    links = links_revoke(customer=customer, origin=origin)
    page_cache.pages_changed(customer)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=Kind.SIGNED_OUT_EVERYWHERE,
        reason=f"{sessions} other session{'s' if sessions != 1 else ''} ended",
    )
    return sessions, links
