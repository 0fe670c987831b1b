"""The two ends of custom sign-on: off to the business's login page, and back with a signed token."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal_auth import ratelimit
from portal_auth.access_log import log_access
from portal_auth.decorators import organisation_page
from portal_auth.external_sign_on import METHOD, SignOnRefused, external_sign_on_accept, external_sign_on_preview
from portal_auth.models import AccessEvent, Organisation
from portal_auth.sessions import portal_sign_in
from portal_auth.views import safe_next
from portal_core.sections import landing_url_name

NEXT_SESSION_KEY = "portal_external_sign_on_next"
TOKEN_PARAMETER = "externalToken"
RETURN_PARAMETER = "return_to"


def _landing(request, organisation: Organisation) -> str:
    if request.GET.get("next"):
        return safe_next(request, organisation)
    return reverse(landing_url_name(), kwargs={"org": organisation.slug})


def _with_parameter(url: str, name: str, value: str) -> str:
    """`url` with one more query parameter, keeping those the business's URL already has."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), (name, value)])
    return urlunsplit(parts._replace(query=query))


@never_cache
@organisation_page
def external_sign_on_start(request, organisation):
    """Send the browser to the business's login page, which sends it back to the callback with a token."""
    if not organisation.external_sign_on_enabled or not organisation.external_sign_on_url:
        raise Http404("Custom sign-on is off.")
    # Kept here rather than in return_to, so the business only ever appends its token to a clean URL.
    request.session[NEXT_SESSION_KEY] = _landing(request, organisation)
    return_to = settings.SITE_URL + reverse("portal_auth:external_sign_on", kwargs={"org": organisation.slug})
    return HttpResponseRedirect(_with_parameter(organisation.external_sign_on_url, RETURN_PARAMETER, return_to))


@never_cache
@organisation_page
def external_sign_on_callback(request, organisation):
    """`externalToken=<JWT>` from the business: a valid token starts a portal session, once.

    When sign-on started from this browser (the portal's own "Sign in with …"), the token signs in at
    once. Otherwise it could be anyone's link carrying their own token (login CSRF), so a page first
    names the account and only its button (a CSRF-protected POST) uses the token.
    """
    try:
        ratelimit.consume("external_sign_on", request)
    except ratelimit.RateLimited:
        log_access(
            request, organisation=organisation, kind=AccessEvent.Kind.RATE_LIMITED, method=METHOD, reason="rate limited"
        )
        raise
    token = (request.POST if request.method == "POST" else request.GET).get(TOKEN_PARAMETER, "")
    started_here = NEXT_SESSION_KEY in request.session
    try:
        if request.method == "GET" and not started_here:
            verified = external_sign_on_preview(request=request, organisation=organisation, token=token)
            context = {"email": verified.email, "token": token}
            response = render(request, "portal_auth/external_sign_on_confirm.html", context)
        else:
            customer = external_sign_on_accept(request=request, organisation=organisation, token=token)
            next_url = request.session.get(NEXT_SESSION_KEY) or _landing(request, organisation)
            portal_sign_in(request, customer, method=METHOD)
            # The token leaves the address bar at once: the next page has a clean URL.
            response = redirect(next_url)
    except SignOnRefused as refusal:
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
