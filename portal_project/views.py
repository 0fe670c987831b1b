import logging
import secrets
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.middleware.csp import get_nonce
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache

from portal_auth.decorators import customer_required
from portal_auth.drafts import draft_keep, same_origin_post
from portal_auth.page_cache import cached_page
from portal_auth.portal_sections import portal_sections, sections_held_remember
from portal_auth.sessions import portal_at
from portal_core.tasks import oldest_ready_task_wait
from portal_project.middleware import database_is_unreachable, unavailable

logger = logging.getLogger(__name__)


def healthz(request):
    """For load balancers: the process answers. Touches neither the database nor the session."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request):
    """For load balancers deciding whether to send traffic: the database and the cache both answer, and the task
    worker keeps up (requested sign-in links and emails wait for it).

    Says which one failed, never why: the error's text could carry host names or credentials.
    """
    failed = [name for name, check in (("database", _database_answers), ("cache", _cache_answers)) if not check()]
    if "database" not in failed and not _tasks_keep_up():  # the queue is in the database: asked only if it answers
        failed.append("tasks")
    if failed:
        body = "".join(f"{name}: unavailable\n" for name in failed)
        return HttpResponse(body, content_type="text/plain", status=503)
    return HttpResponse("ready", content_type="text/plain")


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("Readiness: the database does not answer", exc_info=True)
        return False


def _tasks_keep_up() -> bool:
    try:
        waited = oldest_ready_task_wait()
    except Exception:
        logger.warning("Readiness: the task queue can't be read", exc_info=True)
        return False
    if waited is not None and waited > settings.TASKS_READY_MAX_WAIT:
        logger.warning("Readiness: a task has waited %s for a worker", waited)
        return False
    return True


def _cache_answers() -> bool:
    key, value = f"readyz:{secrets.token_hex(8)}", secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=10)
        answered = cache.get(key) == value
        cache.delete(key)
        return answered
    except Exception:
        logger.warning("Readiness: the cache does not answer", exc_info=True)
        return False


def landing(request):
    return render(request, "landing.html")


@never_cache
@cached_page
@customer_required
def portal_home(request, organisation, customer):
    """The customer's front page: a panel per section the portal shows, in its order, each filled by its app's own
    selector; a section hidden when empty is left out, here and (from what the home found) in the nav."""
    placed = portal_sections(request.portal)
    items = {p.section.key: list(p.section.home_items(customer)) for p in placed if p.section.home_items}
    held = {p.section.key for p in placed if items.get(p.section.key, True)}
    sections_held_remember(customer, held)
    shown = [p for p in placed if p.section.key in items and (p.section.key in held or not p.hide_when_empty)]
    panels = [(p.section, items[p.section.key]) for p in shown]
    request.portal_sections_held = held  # for the nav (portal_auth.context_processors)
    return render(request, "portal_home.html", {"customer": customer, "home_panels": panels})


def csrf_failure(request, reason=""):
    """A form refused for its CSRF token, most often one from before a sign-in in another tab.

    Sent from one of the portal's own pages to a customer's form, its text is kept as a draft and the
    browser goes back to the form, which shows it again (after signing in, if the session has ended).
    """
    if request.method == "POST" and same_origin_post(request):
        try:
            match = resolve(request.path)
        except Resolver404:
            match = None
        # The address names a portal (the organisation's primary one, or another of its portals), not the organisation.
        portal = (
            portal_at(match.kwargs.get("org", ""))
            if match is not None and getattr(match.func, "keeps_drafts", False)
            else None
        )
        organisation = portal.organisation if portal is not None else None
        if organisation is not None and draft_keep(request, organisation=organisation):
            return redirect(request.path)
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler; a database that cannot be reached is no bug of ours but a wait: 503.

    Catches what DatabaseUnavailableMiddleware cannot: errors raised by other middleware (a session saved
    after the view, a cache read before it). Renders without the request, so without the database, but
    with the request's CSP nonce, so the page's one <style> applies.
    """
    if database_is_unreachable(sys.exception()):
        return unavailable()
    return HttpResponseServerError(render_to_string("500.html", {"csp_nonce": get_nonce(request)}))
