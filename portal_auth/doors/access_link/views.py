"""The access-link door's pages. A domain app routes them with its AccessLinkDoor as the `door` kwarg."""

from dataclasses import asdict

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal_auth.decorators import organisation_page
from portal_auth.doors.access_link.forms import AccessLinkRequestForm
from portal_auth.doors.access_link.services import (
    AccessLinkDoor,
    access_link_check,
    access_link_of,
    access_link_open,
)
from portal_auth.doors.landing import (
    emailed_link_landing,
    landed_token_confirmed,
    landed_token_drop,
    landed_token_hash,
    landed_token_proof,
    safe_next,
)
from portal_auth.doors.registry import ACCESS_LINK, door_required
from portal_auth.models import CustomerToken, Portal
from portal_auth.tasks import access_link_request_task, origin_values
from portal_core import ratelimit
from portal_core.origin import ClientOrigin
from portal_core.ratelimit import RateLimited
from portal_core.tasks import task_enqueue

SENT_TO_SESSION_KEY = "portal_access_link_sent_to"
TOKEN_SESSION_KEY = "portal_access_link_token"


def _inside(portal: Portal, path: str) -> bool:
    return path.startswith(f"/{portal.slug}/") and not path.startswith("//") and "\\" not in path


def _asked_from(request) -> str:
    """The page the customer was on when asked to sign in (`next`, as safe_next allows it), or ""."""
    asked = request.POST.get("next") or request.GET.get("next") or ""
    return asked if asked and safe_next(request) == asked else ""


def _destination(portal: Portal, token: CustomerToken, door: AccessLinkDoor) -> str:
    if _inside(portal, token.next_path):
        return token.next_path
    return reverse(door.landing_route, kwargs={"org": portal.slug})


# The emailed link, routed with its AccessLinkDoor: the page it leads to names the account, and opens
# nothing before its button is pressed, so neither a mail scanner nor a page that sends a visitor to
# someone else's link signs anyone in.
open_link = emailed_link_landing(
    door_key=ACCESS_LINK, session_key=TOKEN_SESSION_KEY, clean_route=lambda door: door.confirm_route
)


@never_cache
@organisation_page
@door_required(ACCESS_LINK)
def link_confirm(request, organisation, *, door: AccessLinkDoor):
    """Says whose account the link opens; its button (a POST, CSRF-protected) opens the portal session."""
    token_hash = landed_token_hash(request, TOKEN_SESSION_KEY)
    if not token_hash:
        # Back here after the link was used (or never through one): nothing is left to open.
        route = door.landing_route if request.portal_customer else door.refused_route
        return redirect(route, org=request.portal.slug)
    owned = access_link_of(customer=request.portal_customer, token_hash=token_hash) if request.portal_customer else None
    if owned is not None:
        # Already signed in as the link's customer (a notification clicked again): its page, nothing to open.
        landed_token_drop(request, TOKEN_SESSION_KEY)
        return redirect(_destination(request.portal, owned, door))
    if request.method == "POST" and not landed_token_confirmed(request, token_hash):
        # Another link landed since this page named its account: name the one the session holds now.
        return redirect(request.path)
    try:
        if request.method == "POST":
            token = access_link_open(request=request, organisation=organisation, token_hash=token_hash)
        else:
            origin = ClientOrigin.from_request(request)
            token = access_link_check(origin=origin, organisation=organisation, token_hash=token_hash)
    except RateLimited:
        token = None  # the refused page answers 429 itself
    if token is None:
        landed_token_drop(request, TOKEN_SESSION_KEY)
        return redirect(door.refused_route, org=request.portal.slug)
    if request.method == "POST":
        # Used: the sign-in started a fresh session already; said here so it holds whatever the door.
        landed_token_drop(request, TOKEN_SESSION_KEY)
        return redirect(_destination(request.portal, token, door))
    context = {"door": door, "customer": token.customer, "link_proof": landed_token_proof(token_hash)}
    return render(request, "portal_auth/access_link_confirm.html", context)


@never_cache
@organisation_page
@door_required(ACCESS_LINK)
def link_refused(request, organisation, *, door: AccessLinkDoor, refused: bool = True):
    """Where an unknown, expired or revoked link lands: a form to ask for a new one.

    Routed with `refused=False`, the same form is the sign-in page's "Email me a link": the link it sends leads
    back to the page that asked for a sign-in (`next`), where a form kept as a draft has its text again.
    """
    asked_from = _asked_from(request)
    if request.method == "POST":
        form = AccessLinkRequestForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            email = form.cleaned_data["email"]
            # Looked up by a worker, after the response: how long it takes would tell whether the email is known.
            task_enqueue(
                access_link_request_task,
                organisation_id=organisation.pk,
                portal_id=request.portal.pk,
                email=email,
                door=asdict(door),
                next_path=asked_from,
                origin=origin_values(ClientOrigin.from_request(request)),
            )
            request.session[SENT_TO_SESSION_KEY] = form.cleaned_data["email"]
            return redirect(door.sent_route, org=request.portal.slug)
    else:
        ratelimit.check("access_link_guess", request)
        form = AccessLinkRequestForm(request=request, organisation=organisation)
    return render(
        request,
        "portal_auth/access_link_refused.html",
        {
            "form": form,
            "door": door,
            "refused": refused,
            "lifetime_days": settings.ACCESS_LINK_LIFETIME.days,
            "next": asked_from,
        },
        status=400 if form.is_bound else 200,
    )


@never_cache
@organisation_page
@door_required(ACCESS_LINK)
def link_sent(request, organisation, *, door: AccessLinkDoor):
    email = request.session.get(SENT_TO_SESSION_KEY, "")
    return render(
        request,
        "portal_auth/access_link_sent.html",
        {"email": email, "door": door, "lifetime_days": settings.ACCESS_LINK_LIFETIME.days},
    )
