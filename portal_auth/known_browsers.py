"""Browsers a customer has signed in from: there, the sign-in doors' limits per account count apart.

The doors limit what is tried for one address (wrong passwords and codes, codes and links asked for): that
stops a guesser and spares a mailbox a flood, and would let anyone shut the owner out by spending the address's
allowance on purpose. A sign-in by any door gives the browser a signed cookie naming the organisation, the
email (as a digest) and an id of its own; what a browser holding one for the email typed tries there is counted
for that browser, under the same limits, instead of for the address. Only signing in gives one, so a guesser
has none (OWASP's "device cookies"). One a browser: the last customer to sign in there.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from portal_auth.models import Customer, Organisation

COOKIE = "portal_known_browser"
LIFETIME = timedelta(days=365)
_SALT = "portal_auth.known_browsers"


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def rate_limit_key(request: HttpRequest, organisation: Organisation, email: str) -> str:
    """Whose count a sign-in door's attempt for `email` is: this browser's, if the customer signed in here, else the
    address's."""
    value = request.COOKIES.get(COOKIE)
    if value:
        try:
            known = signing.loads(value, salt=_SALT, max_age=LIFETIME)
        except signing.BadSignature:
            known = None
        if isinstance(known, dict) and known.get("o") == organisation.pk and known.get("e") == _email_digest(email):
            return f"browser:{known.get('b')}"
    return f"{organisation.pk}:{email}"


class KnownBrowserMiddleware:
    """Gives the browser its cookie when a door signed a customer in (portal_sign_in notes who)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        customer: Customer | None = getattr(request, "signed_in_now", None)
        if customer is not None:
            value = {"o": customer.organisation_id, "e": _email_digest(customer.email), "b": secrets.token_urlsafe(16)}
            response.set_cookie(
                COOKIE,
                signing.dumps(value, salt=_SALT),
                max_age=int(LIFETIME.total_seconds()),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
