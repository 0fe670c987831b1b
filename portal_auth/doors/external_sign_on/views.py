"""The two ends of custom sign-on: off to the business's login page, and back with a signed token."""

import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal_auth.access_log import log_access
from portal_auth.decorators import organisation_page
from portal_auth.doors.external_sign_on.services import (
    METHOD,
    SignOnRefused,
    external_sign_on_accept,
    external_sign_on_preview,
)
from portal_auth.doors.landing import safe_next
from portal_auth.doors.registry import EXTERNAL_SIGN_ON, door_is_open, door_required
from portal_auth.models import AccessEvent, Organisation
from portal_auth.portal_sections import portal_sections
from portal_auth.sessions import portal_sign_in
from portal_core import ratelimit
from portal_core.origin import ClientOrigin
from portal_core.sections import landing_url_name

NEXT_SESSION_KEY = "portal_external_sign_on_next"
# The random part of the address the business sends the browser back to: only a token arriving there, in
# the browser that started sign-on, signs in at once. Anything else (another site sending this browser to
# the callback with a token of its own) gets the page that names the account first.
STATE_SESSION_KEY = "portal_external_sign_on_state"
TOKEN_PARAMETER = "externalToken"
RETURN_PARAMETER = "return_to"


def _landing(request, organisation: Organisation) -> str:
    if request.GET.get("next"):
        return safe_next(request)
    # Among the sections this portal shows, in its order: a section it hides would be a 404.
    shown = [placed.section for placed in portal_sections(request.portal)]
    return reverse(landing_url_name(shown), kwargs={"org": request.portal.slug})


def _with_parameter(url: str, name: str, value: str) -> str:
    """`url` with one more query parameter, keeping those the business's URL already has."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), (name, value)])
    return urlunsplit(parts._replace(query=query))


@never_cache
@organisation_page
@door_required(EXTERNAL_SIGN_ON)
def external_sign_on_start(request, organisation):
    """Send the browser to the business's login page, which sends it back to the callback with a token."""
    if not organisation.external_sign_on_url:
        raise Http404("Custom sign-on has no login page.")
    # Kept here rather than in return_to, so the business only ever appends its token to a clean URL.
    request.session[NEXT_SESSION_KEY] = _landing(request, organisation)
    state = request.session[STATE_SESSION_KEY] = secrets.token_urlsafe(24)
    route = reverse("portal_auth:external_sign_on_return", kwargs={"org": request.portal.slug, "state": state})
    return_to = settings.SITE_URL + route
    return HttpResponseRedirect(_with_parameter(organisation.external_sign_on_url, RETURN_PARAMETER, return_to))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@organisation_page
def external_sign_on_callback(request, organisation, state: str = ""):
    """`externalToken=<JWT>` from the business: a valid token starts a portal session, once.

    When sign-on started from this browser (the portal's own "Sign in with …") and the token came back to
    the address it was given (`state`), the token signs in at once. Otherwise it could be anyone's link
    carrying their own token (login CSRF), so a page first names the account and only its button (a
    CSRF-protected POST) uses the token.
    """
    # One use, whatever the outcome: a state left in the session could be replayed by another site.
    expected_state = request.session.pop(STATE_SESSION_KEY, "")
    started_here = bool(state and expected_state) and constant_time_compare(state, expected_state)
    origin = ClientOrigin.from_request(request)
    try:
        ratelimit.consume("external_sign_on", origin)
    except ratelimit.RateLimited:
        log_access(
            origin=origin,
            organisation=organisation,
            kind=AccessEvent.Kind.RATE_LIMITED,
            method=METHOD,
            reason="rate limited",
        )
        raise
    token = (request.POST if request.method == "POST" else request.GET).get(TOKEN_PARAMETER, "")
    try:
        # Used only by the button's POST, or by the GET of a sign-on this browser started; anything else (a link
        # from elsewhere, a link preview's HEAD) is shown the account and uses nothing.
        if not (request.method == "POST" or (request.method == "GET" and started_here)):
            verified = external_sign_on_preview(origin=origin, organisation=organisation, token=token)
            context = {"email": verified.email, "token": token}
            response = render(request, "portal_auth/external_sign_on_confirm.html", context)
        else:
            customer = external_sign_on_accept(origin=origin, organisation=organisation, token=token)
            next_url = (request.session.pop(NEXT_SESSION_KEY, "") if started_here else "") or _landing(
                request, organisation
            )
            portal_sign_in(request, customer, method=METHOD)
            # The token leaves the address bar at once: the next page has a clean URL.
            response = redirect(next_url)
    except SignOnRefused as refusal:
        if not door_is_open(organisation, EXTERNAL_SIGN_ON):
            # Refused and logged first, so staff can see a business still sending customers to a closed door.
            raise Http404("Custom sign-on is off.") from None
        response = render(
            request,
            "portal_auth/external_sign_on_refused.html",
            {"can_retry": organisation.external_sign_on_enabled and bool(organisation.external_sign_on_url)},
            status=400 if refusal.malformed else 403,
        )
    # The token is in this page's URL: no Referer header may carry it elsewhere. The confirmation page
    # keeps the site's same-origin policy: its own form's POST needs an Origin that no-referrer would blank.
    response["Referrer-Policy"] = "same-origin" if response.status_code == 200 else "no-referrer"
    return response
