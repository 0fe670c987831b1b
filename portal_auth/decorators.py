from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from portal_auth.access_log import refused_looks_logged
from portal_auth.drafts import draft_keep, draft_worth_keeping
from portal_auth.models import Organisation, Portal
from portal_auth.portal_sections import section_enabled
from portal_auth.sessions import customer_from_session, portal_at, portal_remember

DRAFT_KEPT_MESSAGE = "Your session has ended, so nothing was sent. Sign in and what you typed will be back in the form."
DRAFT_NOT_KEPT_MESSAGE = (
    "Your session has ended, so nothing was sent, and we couldn't keep what you typed. "
    "Go back to the form and copy it before you sign in."
)


def _resolve(request, slug: str) -> Organisation:
    """Set request.portal, request.organisation and request.portal_customer (None unless signed in to the portal's
    organisation: one sign-in opens every portal of an organisation, and none of another's).

    The customer is loaded with their organisation and the portal asked for, so a signed-in page costs one query here.
    """
    customer, portal = customer_from_session(request, slug)
    if portal is None:
        customer = None
        portal = portal_at(slug)
        if portal is None:
            raise Http404("No portal at this address.")
    elif customer is not None:
        portal_remember(customer, portal)
    request.portal = portal
    request.organisation = portal.organisation
    request.portal_customer = customer
    # A section the portal turned off is gone from it: its pages are not found (a section's URL namespace is its key).
    match = request.resolver_match
    if match is not None and not section_enabled(portal, match.namespace.partition(":")[0]):
        raise Http404("This portal does not show that section.")
    return portal.organisation


def organisation_page(view):
    """A page of one organisation's portal: the view gets `organisation` instead of the `org` slug.

    Whatever the view refuses to show (a LookRefused from a selector) is logged before it becomes a 404.
    """

    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        organisation = _resolve(request, org)
        # Today, the dates and times the page works with and shows: the organisation's, not the server's.
        with refused_looks_logged(request, organisation), timezone.override(organisation.zone):
            return view(request, organisation, *args, **kwargs)

    return wrapper


def sign_in_url(portal: Portal, next_path: str = "") -> str:
    url = reverse("portal_auth:sign_in", kwargs={"org": portal.slug})
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def customer_required(view):
    """Like organisation_page, and the view also gets the signed-in `customer`; others go to sign in.

    A form posted after the session ended keeps its text as a draft, which fills the form in again once
    the customer has signed in (portal_auth/drafts.py).
    """

    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        organisation = _resolve(request, org)
        if request.portal_customer is None:
            if request.method == "POST":
                if draft_keep(request, organisation=organisation):
                    messages.info(request, DRAFT_KEPT_MESSAGE)
                elif draft_worth_keeping(request):
                    # Too long, or this address has had its share kept: the customer must not find an empty form
                    # after signing in without having been told.
                    messages.error(request, DRAFT_NOT_KEPT_MESSAGE)
            return redirect(sign_in_url(request.portal, request.get_full_path()))
        with refused_looks_logged(request, organisation), timezone.override(organisation.zone):
            return view(request, organisation, request.portal_customer, *args, **kwargs)

    # The CSRF failure view looks for this to keep the text of a form posted with an outdated token.
    wrapper.keeps_drafts = True  # type: ignore[attr-defined]
    return wrapper


def post_only(page_route: str, *, form_id: str = ""):
    """A form's POST address. A GET (a bookmark, the way back from signing in) goes to the form on its page.

    `page_route` names the page and takes the same URL arguments as the POST address; `form_id` is the
    form's id there, so the customer lands on it (and on the text kept for them, see drafts.py).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in ("GET", "HEAD"):
                page = reverse(page_route, args=args, kwargs=kwargs)
                return redirect(f"{page}#{form_id}" if form_id else page)
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
