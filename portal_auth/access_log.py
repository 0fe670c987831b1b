import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import Http404, HttpRequest

from portal_auth.models import AccessEvent, Customer, CustomerToken, Organisation
from portal_core import ratelimit
from portal_core.origin import ClientOrigin


class LookRefused(Http404):
    """A customer asked for something they may not see, or that does not exist: to them the two are one 404.

    Raised by the selectors instead of a bare Http404; the portal's page decorators log it (see
    `refused_looks_logged`). `what` names the thing asked for ("ticket 42"), never a secret.
    """

    def __init__(self, what: str):
        super().__init__("Not found.")
        self.what = what


def log_access(
    *,
    origin: ClientOrigin | None,
    organisation: Organisation,
    kind: str,
    customer: Customer | None = None,
    method: str = "",
    email: str = "",
    reason: str = "",
    staff_user: AbstractBaseUser | None = None,
    token: CustomerToken | None = None,
) -> AccessEvent:
    event = access_event_new(
        origin=origin,
        organisation=organisation,
        kind=kind,
        customer=customer,
        method=method,
        email=email,
        reason=reason,
        staff_user=staff_user,
        token=token,
    )
    event.save()
    return event


def access_event_new(
    *,
    origin: ClientOrigin | None,
    organisation: Organisation,
    kind: str,
    customer: Customer | None = None,
    method: str = "",
    email: str = "",
    reason: str = "",
    staff_user: AbstractBaseUser | None = None,
    token: CustomerToken | None = None,
) -> AccessEvent:
    """An event as `log_access` records it, not yet saved: many are written at once with bulk_create."""
    return AccessEvent(
        organisation=organisation,
        customer=customer,
        kind=kind,
        method=method,
        email=printable(email or (customer.email if customer else ""))[:254],
        reason=printable(reason)[:200],
        ip=origin.ip if origin else None,
        user_agent=printable(origin.user_agent)[:300] if origin else "",
        staff_user_id=staff_user.pk if staff_user else None,
        token=token,
    )


def refused_look_log(
    *, origin: ClientOrigin, organisation: Organisation, customer: Customer | None, what: str
) -> AccessEvent:
    """A failed authorisation check: who asked (None for a visitor), for `what` ("ticket 42"), from where."""
    return log_access(
        origin=origin, organisation=organisation, kind=AccessEvent.Kind.ACCESS_REFUSED, customer=customer, reason=what
    )


@contextmanager
def refused_looks_logged(request: HttpRequest, organisation: Organisation) -> Iterator[None]:
    """Around a portal view: each LookRefused it raises goes into the access log, then on to become a 404.

    Only refusals are written, so a page that is allowed costs no query more. Probing is limited: past
    `refused_look`, the prober gets a 429 and the log no further rows from that flood.
    """
    try:
        yield
    except LookRefused as refusal:
        customer = getattr(request, "portal_customer", None)
        origin = ClientOrigin.from_request(request)
        ratelimit.consume("refused_look", origin, key=f"customer:{customer.pk}" if customer else None)
        refused_look_log(origin=origin, organisation=organisation, customer=customer, what=refusal.what)
        raise


def printable(text: str) -> str:
    """`text` as any database stores it."""
    # What a visitor sends (a URL, a user agent) may hold NUL, which PostgreSQL refuses in text, or a
    # lone surrogate, which no database encoding takes: the log keeps a visible mark in their place.
    if text.isprintable():
        return text
    return "".join("\ufffd" if unicodedata.category(char) in ("Cc", "Cs") else char for char in text)
