"""The access-link door's pages. A domain app routes them with its AccessLinkDoor as the `door` kwarg."""

from dataclasses import asdict

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal_auth import ratelimit
from portal_auth.access_link_forms import AccessLinkRequestForm
from portal_auth.access_links import AccessLinkDoor, access_link_check, access_link_open
from portal_auth.decorators import organisation_page
from portal_auth.models import CustomerToken, Organisation, session_hash
from portal_auth.ratelimit import RateLimited
from portal_auth.tasks import access_link_request_task, request_origin
from portal_core.tasks import task_enqueue

SENT_TO_SESSION_KEY = "portal_access_link_sent_to"
TOKEN_SESSION_KEY = "portal_access_link_token"


def _inside(organisation: Organisation, path: str) -> bool:
    return path.startswith(f"/{organisation.slug}/") and not path.startswith("//") and "\\" not in path


def _destination(organisation: Organisation, token: CustomerToken, door: AccessLinkDoor) -> str:
    if _inside(organisation, token.next_path):
        return token.next_path
    return reverse(door.landing_route, kwargs={"org": organisation.slug})


# Exempt: it only files the token in the session, as a GET does, and a CSRF refusal would log its URL.
@csrf_exempt
@never_cache
def open_link(request, org, token, *, door: AccessLinkDoor):
    """The emailed link. A GET only moves the token into the session and redirects to the page that asks.

    Nothing is opened here: neither a mail scanner nor a page that sends a visitor to someone else's
    link signs anyone in. No error status is ever answered, so the token's URL never reaches the logs.
    """
    organisation = Organisation.objects.filter(slug=org).first()
    if organisation is None:
        target = reverse("landing")
    else:
        request.session[TOKEN_SESSION_KEY] = session_hash(token)
        target = reverse(door.confirm_route, kwargs={"org": organisation.slug})
    response = redirect(target)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@organisation_page
def link_confirm(request, organisation, *, door: AccessLinkDoor):
    """Says whose account the link opens; its button (a POST, CSRF-protected) opens the portal session."""
    token_hash = request.session.get(TOKEN_SESSION_KEY, "")
    if not token_hash:
        # Back here after the link was used (or never through one): nothing is left to open.
        route = door.landing_route if request.portal_customer else door.refused_route
        return redirect(route, org=organisation.slug)
    use = access_link_open if request.method == "POST" else access_link_check
    try:
        token = use(request=request, organisation=organisation, token_hash=token_hash)
    except RateLimited:
        token = None  # the refused page answers 429 itself
    if token is None:
        request.session.pop(TOKEN_SESSION_KEY, None)  # a dead token has no reason to stay
        return redirect(door.refused_route, org=organisation.slug)
    if request.method == "POST":
        # Used: the sign-in started a fresh session already; said here so it holds whatever the door.
        request.session.pop(TOKEN_SESSION_KEY, None)
        return redirect(_destination(organisation, token, door))
    return render(request, "portal_auth/access_link_confirm.html", {"door": door, "customer": token.customer})


@never_cache
@organisation_page
def link_refused(request, organisation, *, door: AccessLinkDoor):
    """Where an unknown, expired or revoked link lands: a form to ask for a new one."""
    if request.method == "POST":
        form = AccessLinkRequestForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            email = form.cleaned_data["email"]
            # Looked up by a worker, after the response: how long it takes would tell whether the email is known.
            task_enqueue(
                access_link_request_task,
                organisation_id=organisation.pk,
                email=email,
                door=asdict(door),
                origin=request_origin(request),
            )
            request.session[SENT_TO_SESSION_KEY] = form.cleaned_data["email"]
            return redirect(door.sent_route, org=organisation.slug)
    else:
        ratelimit.check("access_link_guess", request)
        form = AccessLinkRequestForm(request=request, organisation=organisation)
    return render(
        request,
        "portal_auth/access_link_refused.html",
        {"form": form, "door": door, "lifetime_days": settings.ACCESS_LINK_LIFETIME.days},
        status=400 if form.is_bound else 200,
    )


@never_cache
@organisation_page
def link_sent(request, organisation, *, door: AccessLinkDoor):
    email = request.session.get(SENT_TO_SESSION_KEY, "")
    return render(
        request,
        "portal_auth/access_link_sent.html",
        {"email": email, "door": door, "lifetime_days": settings.ACCESS_LINK_LIFETIME.days},
    )
