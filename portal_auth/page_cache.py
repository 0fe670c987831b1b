"""A customer's pages in the page cache (portal_core/page_cache.py): keyed by organisation and customer.

A repeat view is answered from the session and one read of the cache: the page was stored only after the
full check of who is asking (customer active, session version current, organisation of the URL), and
anything that would change that check or the page bumps the customer's or the organisation's version.
"""

import time
from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.session import SessionStorage
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal_auth.drafts import DRAFTS_SESSION_KEY
from portal_auth.models import Customer, Organisation, Portal
from portal_auth.sessions import (
    SESSION_CUSTOMER,
    SESSION_EXPIRES,
    SESSION_METHOD,
    SESSION_ORGANISATION,
    SESSION_ROW,
    SESSION_VERSION,
    session_seen,
)
from portal_core import page_cache

# A signed-in customer could otherwise fill the cache with one page per made-up query string.
_LONGEST_CACHED_PATH = 300
# Every time zone's midnight is a whole number of these after UTC's (offsets go by quarters of an hour).
QUARTER_HOUR = 15 * 60


def customer_scope(customer_id: int) -> str:
    return f"customer:{customer_id}"


def organisation_scope(organisation_id: int) -> str:
    # Every portal of the organisation: its settings, its portals' looks and sections, what all its customers see.
    return f"organisation:{organisation_id}"


def customers_scopes(customer_ids: Iterable[int]) -> list[str]:
    return [customer_scope(pk) for pk in customer_ids]


def watch_identities() -> None:
    page_cache.watch(Customer, lambda customer: [customer_scope(customer.pk)])
    page_cache.watch(Organisation, lambda organisation: [organisation_scope(organisation.pk)])
    page_cache.watch(Portal, lambda portal: [organisation_scope(portal.organisation_id)], previous=True)


def _key(
    request: HttpRequest, slug: str, also: Callable[[int], list[str]] | None = None
) -> tuple[str, list[str]] | None:
    """The page's key for the customer this session names and the scopes it depends on, or None when this request
    must be rendered."""
    session = request.session
    customer_id = session.get(SESSION_CUSTOMER)
    organisation_id = session.get(SESSION_ORGANISATION)
    if customer_id is None or organisation_id is None or session.get(SESSION_EXPIRES, 0) < timezone.now().timestamp():
        return None
    # Flash messages and kept drafts show once, on the next page: that page is this request's alone.
    if DRAFTS_SESSION_KEY in session or SessionStorage.session_key in session:
        return None
    if CookieStorage.cookie_name in request.COOKIES:
        return None
    path = request.get_full_path()
    if len(path) > _LONGEST_CACHED_PATH:
        return None
    scopes = [
        organisation_scope(organisation_id),
        customer_scope(customer_id),
        *(also(organisation_id) if also else []),
    ]
    key = page_cache.page_key(
        (
            slug,
            organisation_id,
            customer_id,
            session.get(SESSION_VERSION),
            # Each browser's own pages: one whose session was ended from another browser ("Your sessions") is
            # checked again on its next view (and refused), however often the customer's other browsers store
            # the same address afterwards.
            session.get(SESSION_ROW),
            session.get(SESSION_METHOD),
            # Which bookings are upcoming changes at the organisation's midnight, not known before the page is
            # read; in every time zone it falls on a quarter of an hour of UTC. A page is kept a few minutes anyway
            # (PAGE_CACHE_TIMEOUT), so a key that changes each quarter of an hour costs little and is never late.
            int(time.time() // QUARTER_HOUR),
            path,
        )
    )
    return key, scopes


def _rendered_for(request: HttpRequest, slug: str, organisation_id: int, customer_id: int) -> bool:
    """Whether the view checked who is asking and found the customer and organisation the key names, at this address."""
    customer = getattr(request, "portal_customer", None)
    portal = getattr(request, "portal", None)
    return (
        customer is not None
        and customer.pk == customer_id
        and portal is not None
        and portal.slug == slug
        and portal.organisation_id == organisation_id
    )


def cached_page(view=None, *, also: Callable[[int], list[str]] | None = None):
    """A customer's page served from the page cache when nothing it shows has changed since it was stored.

    Put it above `customer_required` or `organisation_page`, below `never_cache`: browsers and proxies
    still store nothing. Only signed-in GETs are cached; anything else goes straight to the view.
    `also(organisation_id)` names further scopes the page depends on (what every customer of the organisation may
    book, which changes with each booking), as `@cached_page(also=...)`.
    """
    if view is None:
        return lambda view: cached_page(view, also=also)

    @wraps(view)
    def wrapper(request: HttpRequest, org: str, *args, **kwargs) -> HttpResponse:
        if not page_cache.enabled() or request.method not in ("GET", "HEAD"):
            return view(request, org, *args, **kwargs)
        found = _key(request, org, also)
        if found is None:
            return view(request, org, *args, **kwargs)
        key, scopes = found
        page, versions = page_cache.page_get(request, key, scopes)
        if page is not None:
            # Served without asking who is there, but the browser was: "Your sessions" says when.
            session_seen(request)
            return page
        if versions is None:  # the cache failed: nothing to store the page with
            return view(request, org, *args, **kwargs)
        customer_id, organisation_id = request.session[SESSION_CUSTOMER], request.session[SESSION_ORGANISATION]
        response = page_cache.render_for_cache(request, lambda: view(request, org, *args, **kwargs))
        if page_cache.storable(response) and _rendered_for(request, org, organisation_id, customer_id):
            return page_cache.page_store(request, key, versions, response)
        return page_cache.filled(request, response)

    return wrapper
