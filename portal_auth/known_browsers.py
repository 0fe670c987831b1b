"""Browsers a customer has signed in from with their password: there, wrong passwords count apart.

Wrong passwords are limited per account (RATE_LIMIT_SIGN_IN_FAILED, 5 in 5 minutes for an email): that stops a
guesser, and would let anyone shut the owner out by typing wrong passwords for their address. A sign-in with the
right password gives the browser a signed cookie naming the organisation, the email (as a digest) and an id of its
own; a sign-in from a browser holding one for the email typed counts its wrong passwords against that id
(RATE_LIMIT_SIGN_IN_FAILED_KNOWN_BROWSER), not the account's. Only the password gives one, so a guesser has none
(OWASP's "device cookies"). One a browser: the last customer to sign in there.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from portal_auth.models import Customer, Organisation

COOKIE = "portal_known_browser"
LIFETIME = timedelta(days=365)
_SALT = "portal_auth.doors.password.known_browsers"


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def known_browser_key(request: HttpRequest, organisation: Organisation, email: str) -> str | None:
    """The rate-limit key of this browser for `email`, if the customer signed in here with their password."""
    value = request.COOKIES.get(COOKIE)
    if not value:
        return None
    try:
        known = signing.loads(value, salt=_SALT, max_age=LIFETIME)
    except signing.BadSignature:
        return None
    if not isinstance(known, dict) or known.get("o") != organisation.pk or known.get("e") != _email_digest(email):
        return None
    return f"browser:{known.get('b')}"


def known_browser_remember(response: HttpResponse, customer: Customer) -> None:
    value = signing.dumps(
        {"o": customer.organisation_id, "e": _email_digest(customer.email), "b": secrets.token_urlsafe(16)},
        salt=_SALT,
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
