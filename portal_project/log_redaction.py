"""Logs never carry the secrets some portal addresses hold: emailed links' tokens, sign-on tokens, booking keys.

Used by gunicorn's access log (gunicorn.conf.py) and, through a logging filter, by Django's own log lines
("Bad Request: /path"). deploy/nginx.conf redacts the same addresses in the proxy's log.
"""

import logging
import re
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from gunicorn.glogging import Logger

REDACTED = "[redacted]"

# Path segments that are bearer secrets: the password link's, the email change's, the support link's, the
# notification sign-in link's and the API's sign-in URL's token, and a booking's reference (the key to a booking
# where an organisation turns sign-in off). Checked against every URL pattern by
# tests/portal_project/test_log_redaction.py. The links' fixed pages (open/, new-link/, new/, continue/,
# expired/) stay readable.
SECRET_PATH = re.compile(
    r"^(?P<route>/[^/]+/(?:password/link|profile/email/link|bookings|support/portal(?!/(?:open|new-link)(?:/|$))"
    r"|link(?!/(?:open|new)(?:/|$))|redirect(?!/(?:continue|expired)(?:/|$))))/(?P<secret>[^/]+)"
)
# Query parameters that carry a secret, compared in lower case once decoded. `next` is among them: the
# sign-in page's way back may be a booking whose reference is its key where sign-in is off.
SECRET_PARAMETERS = frozenset({"externaltoken", "token", "access_token", "code", "key", "password", "next"})
# Request headers that must never reach a log, whatever access_log_format asks for.
SECRET_HEADERS = ("{cookie}i", "{authorization}i", "{proxy-authorization}i")


def redact_path(path: str) -> str:
    """`path` (decoded, as in PATH_INFO) with its secret segment replaced."""
    return SECRET_PATH.sub(rf"\g<route>/{REDACTED}", path, count=1)


def redact_query(query: str) -> str:
    """`query` (raw, as in QUERY_STRING) with the values of secret parameters replaced, however spelt."""
    pairs = []
    for pair in query.split("&"):
        name, separator, _value = pair.partition("=")
        if separator and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            pair = f"{name}={REDACTED}"
        pairs.append(pair)
    return "&".join(pairs)


def redact_target(target: str, *, decoded_path: str | None = None) -> str:
    """A request target or URL ("/a/b?c=d", "https://host/a?b") with its secrets replaced.

    The path is judged decoded (a server routes "password%2Flink%2F…" as "password/link/…"); a path holding
    no secret is kept exactly as sent.
    """
    parts = urlsplit(target)
    decoded = unquote(parts.path) if decoded_path is None else decoded_path
    redacted = redact_path(decoded)
    path = parts.path if redacted == decoded else quote(redacted, safe="/[]")
    return urlunsplit(parts._replace(path=path, query=redact_query(parts.query)))


def redact_text(text: str) -> str:
    """Every address-like word in a log message, redacted."""
    return re.sub(r"(?:https?://[^\s\"']+)?/[^\s\"']*", lambda match: redact_target(match.group(0)), text)


class RedactSecretsFilter(logging.Filter):
    """For Django's log handlers: "Bad Request: /org/support/portal/<token>" is logged without the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_text(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = redact_text(record.msg)
        return True


class RedactingLogger(Logger):
    """gunicorn's logger, whose access log atoms (request line, path, query, referrer) hold no secret."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO", "")
        target = redact_target(environ.get("RAW_URI", path), decoded_path=path)
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {target} {environ.get('SERVER_PROTOCOL')}"
        atoms["U"] = redact_path(path)
        atoms["q"] = redact_query(environ.get("QUERY_STRING", ""))
        for key in ("f", "{referer}i", "{http_referer}e", "{raw_uri}e", "{request_uri}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_target(atoms[key])
        for key, redact in (("{path_info}e", redact_path), ("{query_string}e", redact_query)):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        for key in SECRET_HEADERS:
            if key in atoms:
                atoms[key] = REDACTED
        return atoms
