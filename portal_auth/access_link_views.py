"""The access-link door's pages. A domain app routes them with its AccessLinkDoor as the `door` kwarg."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal_auth import ratelimit
from portal_auth.access_link_forms import AccessLinkRequestForm
from portal_auth.access_links import AccessLinkDoor, access_link_open, access_link_request
from portal_auth.decorators import organisation_page
from portal_auth.models import Organisation
from portal_auth.ratelimit import RateLimited

SENT_TO_SESSION_KEY = "portal_access_link_sent_to"


def _inside(organisation: Organisation, path: str) -> bool:
    return path.startswith(f"/{organisation.slug}/") and not path.startswith("//") and "\\" not in path


@never_cache
def open_link(request, org, token, *, door: AccessLinkDoor):
    """The emailed link: every outcome is a redirect to a URL without the token.

    No error status is ever answered here, so the token's URL never reaches Django's request log.
    """
    organisation = Organisation.objects.filter(slug=org).first()
    found = None
    if organisation is not None:
        try:
            found = access_link_open(request=request, organisation=organisation, raw=token)
        except RateLimited:
            found = None  # the refused page answers 429 itself, at a clean URL
    if organisation is None:
        target = reverse("landing")
    elif found is None:
        target = reverse(door.refused_route, kwargs={"org": organisation.slug})
    elif _inside(organisation, found.next_path):
        target = found.next_path
    else:
        target = reverse(door.landing_route, kwargs={"org": organisation.slug})
    response = redirect(target)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@organisation_page
def link_refused(request, organisation, *, door: AccessLinkDoor):
    """Where an unknown, expired or revoked link lands: a form to ask for a new one."""
    if request.method == "POST":
        form = AccessLinkRequestForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            access_link_request(request=request, organisation=organisation, email=form.cleaned_data["email"], door=door)
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
