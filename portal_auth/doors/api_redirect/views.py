"""The sign-in URL's pages: the URL itself, the “Continue as …” page some organisations want, and the refusal."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from portal_auth.decorators import organisation_page
from portal_auth.doors.api_redirect.services import sign_in_redirect_check, sign_in_redirect_open
from portal_auth.doors.landing import (
    emailed_link_landing,
    landed_token_confirmed,
    landed_token_drop,
    landed_token_hash,
    landed_token_proof,
)
from portal_auth.doors.registry import API_REDIRECT, door_is_open, door_required
from portal_auth.models import Portal, session_hash
from portal_core.origin import ClientOrigin

TOKEN_SESSION_KEY = "portal_sign_in_redirect_token"

# Where an organisation asks for a press first: the token goes into the session, the browser to a clean page.
_to_continue_page = emailed_link_landing(
    door_key=API_REDIRECT, session_key=TOKEN_SESSION_KEY, clean_route=lambda: "portal_auth:sign_in_redirect_continue"
)


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


def _a_look_not_a_visit(request) -> bool:
    """A HEAD (a link checker, a chat app's preview) or a browser's prefetch of a link it expects to be followed:
    neither is the customer arriving, and either would use up a URL that works once."""
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    return request.method == "HEAD" or "prefetch" in purpose.lower()


@never_cache
def sign_in_redirect(request, org: str, token: str):
    """The URL the API made: signs in and goes to its `return_to`, on a clean URL; or the refusal page."""
    if _a_look_not_a_visit(request):
        # Not a 2xx: a browser discards a prefetch answered otherwise and asks again when the link is followed.
        response = HttpResponse("This sign-in URL works when it is opened.", status=503, content_type="text/plain")
        response["Retry-After"] = "0"
        return _no_referrer(response)
    portal = Portal.objects.select_related("organisation").filter(slug=org).first()
    if portal is None or portal.organisation.redirect_confirms or not door_is_open(portal.organisation, API_REDIRECT):
        # Nothing is filed behind a closed door, and the page it leads to answers 404 itself.
        return _to_continue_page(request, org, token)
    organisation = portal.organisation
    request.portal, request.organisation, request.portal_customer = portal, organisation, None
    used = sign_in_redirect_open(request=request, organisation=organisation, token_hash=session_hash(token))
    if used is None:
        return _no_referrer(redirect("portal_auth:sign_in_redirect_expired", org=request.portal.slug))
    return _no_referrer(redirect(used.next_path))


@never_cache
@organisation_page
@door_required(API_REDIRECT)
def sign_in_redirect_continue(request, organisation):
    """Names the account the URL opens; its button (a CSRF-protected POST) signs in."""
    token_hash = landed_token_hash(request, TOKEN_SESSION_KEY)
    if not token_hash:
        # Reloaded, or Back here, after the URL was used (or never through one): no guess, nothing to log.
        if request.portal_customer:
            return redirect("portal_home", org=request.portal.slug)
        return redirect("portal_auth:sign_in_redirect_expired", org=request.portal.slug)
    if request.method == "POST" and not landed_token_confirmed(request, token_hash):
        return redirect(request.path)  # another URL landed since this page named its account
    if request.method == "POST":
        token = sign_in_redirect_open(request=request, organisation=organisation, token_hash=token_hash)
    else:
        origin = ClientOrigin.from_request(request)
        token = sign_in_redirect_check(origin=origin, organisation=organisation, token_hash=token_hash)
    if token is None:
        landed_token_drop(request, TOKEN_SESSION_KEY)
        return redirect("portal_auth:sign_in_redirect_expired", org=request.portal.slug)
    if request.method == "POST":
        landed_token_drop(request, TOKEN_SESSION_KEY)
        return _no_referrer(redirect(token.next_path))
    context = {"customer": token.customer, "link_proof": landed_token_proof(token_hash)}
    return render(request, "portal_auth/sign_in_redirect_continue.html", context)


@never_cache
@organisation_page
@door_required(API_REDIRECT)
def sign_in_redirect_expired(request, organisation):
    return render(request, "portal_auth/sign_in_redirect_expired.html", status=410)
