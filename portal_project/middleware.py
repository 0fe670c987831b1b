"""Guards at the edge of every request: what Django itself would turn into a 500, refused early and plainly."""

import codecs
import logging
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.db import OperationalError, connections
from django.db.utils import InterfaceError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, UnreadablePostError
from django.template.loader import render_to_string
from django.utils.http import parse_header_parameters

from portal_core.text import size_label

logger = logging.getLogger(__name__)

# Methods no page of the portal answers; TRACE would echo the request (cookies included) back.
REFUSED_METHODS = frozenset({"TRACE", "TRACK", "CONNECT"})
ALLOWED_METHODS = ["GET", "HEAD", "POST"]

# Charsets whose bytes Django decodes into plain text, each byte sequence to the same text as its own name says.
# Anything else is refused: unknown names (Django silently falls back to UTF-8), codecs that are not text at all
# (rot13, base64: Django's decode raises, a 500), and text codecs with escapes (unicode_escape, utf-7) or a
# different unit (utf-16/32), which smuggle lone surrogates and NULs into what pages render and the database stores.
ACCEPTED_CHARSETS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252"})

# A NUL cannot be stored by PostgreSQL and a lone surrogate cannot be encoded into a page: both would be a 500.
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")

RETRY_AFTER_SECONDS = 30


class RequestGuardMiddleware:
    """Refuse, before any other middleware looks at it, a request the portal cannot answer properly.

    The root causes are in Django: it accepts any codec a Content-Type names and decodes the query string and
    body with it (a non-text codec raises LookupError while the request is built, see PortalWSGIRequest), and
    its 400 for a non-UTF-8 form body is raised inside the CSRF check, which its own 400 handler runs again, so
    the 400 becomes a 500. Django also reads a body of any declared length. Until Django refuses these itself,
    this middleware answers them: 405, 400, 411, 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in REFUSED_METHODS:
            return HttpResponseNotAllowed(ALLOWED_METHODS)
        if reason := content_type_refusal(request.META.get("CONTENT_TYPE", "")):
            return bad_request(reason)
        refusal = body_size_refusal(request.META) or path_refusal(request)
        return refusal or self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        # Only here, once a view will answer and the body's size is known to be acceptable, is the data parsed:
        # the CSRF check that follows parses it anyway.
        if has_unstorable_characters(request.GET.lists()):
            return bad_request("The address holds characters the portal cannot accept.")
        if request.method == "POST":
            try:
                form = request.POST
            except UnreadablePostError:
                return None  # the client went away mid-body: the CSRF check refuses the request as before
            except RequestDataTooBig:
                # Within the body's limit, but more text than a form holds (files are counted apart): Django's
                # answer would be a 400 that says nothing of size.
                return form_text_too_large()
            if has_unstorable_characters(form.lists()):
                return bad_request("The form holds characters the portal cannot accept.")
        return None


def body_size_refusal(meta: dict) -> HttpResponse | None:
    """413 for a declared body over MAX_REQUEST_BODY, 411 for a body of unknown length; nothing is read."""
    declared = meta.get("CONTENT_LENGTH") or ""
    if declared:
        try:
            length = int(declared)
        except ValueError:
            return bad_request("The request's length is not a number.")
        if length < 0:
            return bad_request("The request's length is not a number.")
        if length > settings.MAX_REQUEST_BODY:
            return too_large()
        return None
    # Django reads nothing of a body without Content-Length, so a chunked form would arrive empty, its
    # fields silently lost: say so instead.
    if meta.get("HTTP_TRANSFER_ENCODING", "").strip():
        return page("411.html", status=411)
    return None


def content_type_refusal(header: str) -> str | None:
    """Why a Content-Type header cannot be answered, for the customer; None when it can."""
    try:
        content_type, params = parse_header_parameters(header)
    except ValueError:
        return "The request's content type could not be read."
    charset = params.get("charset")
    if charset is None:
        return None
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return "The request names a character set the portal does not know."
    if name not in ACCEPTED_CHARSETS:
        return "Please send the request in UTF-8."
    if content_type == "application/x-www-form-urlencoded" and charset.lower() != "utf-8":
        # Django accepts only this exact spelling for form bodies (RFC 1866 says they are UTF-8).
        return "Please send the form in UTF-8."
    return None


class PortalWSGIRequest(WSGIRequest):
    """Django's request, built without decoding anything in a charset RequestGuardMiddleware will refuse.

    Django decodes the query string with the named codec while it builds the request, before any middleware:
    a non-text codec (rot13) raised there escapes Django as the WSGI server's bare 500. Built as if no
    Content-Type were sent, the request reaches the middleware, which reads the header itself and answers 400.
    """

    def _set_content_type_params(self, meta: dict) -> None:
        if content_type_refusal(meta.get("CONTENT_TYPE", "")):
            meta = {**meta, "CONTENT_TYPE": ""}
        super()._set_content_type_params(meta)  # type: ignore[misc]  # Django's, missing from django-stubs


class PortalWSGIHandler(WSGIHandler):
    request_class = PortalWSGIRequest


def path_refusal(request: HttpRequest) -> HttpResponse | None:
    if UNSTORABLE_CHARACTERS.search(request.path_info):
        return bad_request("The address holds characters the portal cannot accept.")
    return None


def has_unstorable_characters(lists: Iterable[tuple[str, list]]) -> bool:
    for key, values in lists:
        if UNSTORABLE_CHARACTERS.search(key):
            return True
        if any(isinstance(value, str) and UNSTORABLE_CHARACTERS.search(value) for value in values):
            return True
    return False


def page(template: str, *, status: int, context: dict | None = None) -> HttpResponse:
    """An error page rendered without the request: no context processor, no session, no database."""
    return HttpResponse(render_to_string(template, context or {}), status=status)


def bad_request(reason: str) -> HttpResponse:
    response = page("400.html", status=400, context={"reason": reason})
    response.refusal = reason  # type: ignore[attr-defined]  # what the API says in its JSON (portal_core/api.py)
    return response


def too_large() -> HttpResponse:
    megabytes = settings.MAX_REQUEST_BODY // (1024 * 1024)
    return page("413.html", status=413, context={"limit_megabytes": megabytes})


def form_text_too_large() -> HttpResponse:
    limit = size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    reason = f"The request body is too large: at most {limit} besides its files."
    response = page("413.html", status=413, context={"text_limit": limit})
    response.refusal = reason  # type: ignore[attr-defined]  # what the API says in its JSON (portal_core/api.py)
    return response


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, every page answers 503 "we'll be back" instead of a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_is_unreachable(exception):
            return None
        logger.error("Database unreachable: %s", type(exception).__name__)
        return unavailable()


def database_is_unreachable(exception: BaseException | None) -> bool:
    """True when `exception` comes from a connection that could not be made or has broken.

    Not every OperationalError means the database is down: SQLite's "database is locked" or PostgreSQL's
    statement timeout leave a working connection, and stay 500s, which are bugs to fix.
    """
    if not isinstance(exception, OperationalError | InterfaceError):
        return False
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is None or getattr(raw, "closed", False) or getattr(raw, "broken", False):
            return True
    return False


def unavailable() -> HttpResponse:
    response = page("503.html", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
