from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from portal_auth.access_log import refused_looks_logged
from portal_auth.models import Organisation
from portal_auth.sessions import customer_from_session


def _resolve(request, slug: str) -> Organisation:
    """Set request.organisation and request.portal_customer (None unless signed in to this organisation).

    The customer is loaded with their organisation, so a signed-in page costs one query here.
    """
    customer = customer_from_session(request)
    if customer is not None and customer.organisation.slug == slug:
        organisation = customer.organisation
    else:
        customer = None
        organisation = get_object_or_404(Organisation, slug=slug)
    request.organisation = organisation
    request.portal_customer = customer
    return organisation


def organisation_page(view):
    """A page of one organisation's portal: the view gets `organisation` instead of the `org` slug.

    Whatever the view refuses to show (a LookRefused from a selector) is logged before it becomes a 404.
    """

    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        organisation = _resolve(request, org)
        with refused_looks_logged(request, organisation):
            return view(request, organisation, *args, **kwargs)

    return wrapper


def sign_in_url(organisation: Organisation, next_path: str = "") -> str:
    url = reverse("portal_auth:sign_in", kwargs={"org": organisation.slug})
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def customer_required(view):
    """Like organisation_page, and the view also gets the signed-in `customer`; others go to sign in."""

    @wraps(view)
    def wrapper(request, org, *args, **kwargs):
        organisation = _resolve(request, org)
        if request.portal_customer is None:
            return redirect(sign_in_url(organisation, request.get_full_path()))
        with refused_looks_logged(request, organisation):
            return view(request, organisation, request.portal_customer, *args, **kwargs)

    return wrapper
