"""What every router of the JSON API shares: its errors, each with a stable `code`, a human `message` and a status."""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Schema


class ApiError(Exception):
    """Raised by an endpoint; the API answers `{"code": code, "message": message}` with `status`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ErrorOut(Schema):
    code: str
    message: str


# The answers every endpoint may give besides its own: documented once, in each operation's `response`.
ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


# The codes of answers given before any endpoint of the API's own: a refusal at the edge of every request (a
# method, a charset, a size), the router's for a method a route doesn't take, the database being unreachable.
_EDGE_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "too_large",
    503: "unavailable",
}


class ApiErrorsAsJsonMiddleware:
    """Every error the API's callers get is JSON with a `code` and a `message`, the answers given before any
    endpoint of the API's own (written for a browser, as HTML) too. Their headers (Allow, Retry-After) are kept;
    a `refusal` attribute on the answer is its message, else the status's phrase is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        message = getattr(response, "refusal", "") or (
            f"This route takes {response['Allow']}." if status == 405 and response.get("Allow") else ""
        )
        message = message or f"{HTTPStatus(status).phrase}."
        answer = JsonResponse({"code": _EDGE_CODES.get(status, "error"), "message": message}, status=status)
        for header in ("Allow", "Retry-After"):
            if header in response:
                answer[header] = response[header]
        return answer
