"""What every router of the JSON API shares: its errors, each with a stable `code`, a human `message` and a status."""

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
