"""The JSON API's root, `/api/v1/`: each app's router, the errors as JSON, the OpenAPI document and its docs page."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from conversations.api import router as conversations_router
from portal_auth.api import router as customers_router
from portal_auth.api_keys import ApiKeyAuth
from portal_core.api import ApiError
from portal_core.ratelimit import RateLimited
from portal_core.text import size_label
from tickets.api import router as tickets_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Customer portal API",
    version="1",
    description=(
        "For the business's backend. Authenticate with `Authorization: Bearer <API key>` "
        '(`python manage.py create_api_key`). Errors are JSON: `{"code": …, "message": …}`.'
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("", customers_router)
api.add_router("", tickets_router)
api.add_router("", conversations_router)


def _error(request: HttpRequest, status: int, code: str, message: str, **headers: str):
    response = api.create_response(request, {"code": code, "message": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def api_error(request, error: ApiError):
    return _error(request, error.status, error.code, error.message)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, error):
    # The same answer for a missing, unknown, malformed or revoked key: no hint which.
    return _error(request, 401, "unauthorized", "Send a valid API key as `Authorization: Bearer <key>`.")


@api.exception_handler(RateLimited)
def rate_limited(request, error: RateLimited):
    message = f"Too many calls. Try again in {error.retry_after} seconds."
    return _error(request, 429, "rate_limited", message, **{"Retry-After": str(error.retry_after)})


@api.exception_handler(ValidationError)
def invalid(request, error: ValidationError):
    fields = sorted({".".join(str(part) for part in e.get("loc", ())[1:]) or "body" for e in error.errors})
    return _error(request, 422, "invalid", f"Check these fields: {', '.join(fields)}.")


@api.exception_handler(Http404)
def not_found(request, error):
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    # Raised by the library itself: a body that is not JSON (400), chiefly.
    code = "bad_request" if error.status_code == 400 else "error"
    return _error(request, error.status_code, code, str(error.message))


@api.exception_handler(RequestDataTooBig)
def too_big(request, error):
    # Django refuses to hold more than DATA_UPLOAD_MAX_MEMORY_SIZE of a body in memory; no call needs as much.
    limit = size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return _error(request, 413, "too_large", f"The request body is too large: at most {limit}.")


@api.exception_handler(Exception)
def server_error(request, error: Exception):
    logger.exception("API call failed")
    return _error(request, 500, "server_error", "Something went wrong on our side. Try again later.")


def no_such_route(request: HttpRequest, rest: str = ""):
    """Any other address under the API's: a JSON error like every other the API answers, not the site's HTML page."""
    return _error(request, 404, "not_found", "No such API route: the routes are listed at /api/v1/docs.")
