"""No token reaches a log: gunicorn's access log, Django's own log lines, the nginx example's log format."""

import datetime
import logging
import re
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from gunicorn.config import Config

from portal_project.log_redaction import RedactSecretsFilter, redact_path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "S3cr3tT0kenValue"


def gunicorn_access_line(tmp_path, raw_uri: str, path_info: str, query: str = "", referer: str = "-") -> str:
    """One request formatted through the logger gunicorn.conf.py configures, as gunicorn writes it."""
    config = Config()
    for name, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    log_file = tmp_path / "access.log"
    config.set("accesslog", str(log_file))
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mail scanner",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("COOKIE", f"sessionid={SECRET}")])
    response = SimpleNamespace(status="302 Found", headers=[("Location", "/acme/")], sent=0)
    logger.access(response, request, environ, timedelta(milliseconds=12))
    for handler in [*logger.access_log.handlers, *logger.error_log.handlers]:
        handler.close()
    return log_file.read_text()


@pytest.mark.parametrize(
    ("raw_uri", "path_info", "query", "logged"),
    [
        (f"/acme/support/portal/{SECRET}", f"/acme/support/portal/{SECRET}", "", "/acme/support/portal/[redacted]"),
        (
            f"/acme/support/portal/{SECRET}/x",
            f"/acme/support/portal/{SECRET}/x",
            "",
            "/acme/support/portal/[redacted]/x",
        ),
        (f"/acme/password/link/{SECRET}/", f"/acme/password/link/{SECRET}/", "", "/acme/password/link/[redacted]/"),
        (
            f"/acme/profile/email/link/{SECRET}",
            f"/acme/profile/email/link/{SECRET}",
            "",
            "/acme/profile/email/link/[redacted]",
        ),
        (f"/acme/password%2Flink%2F{SECRET}", f"/acme/password/link/{SECRET}", "", "/acme/password/link/[redacted]"),
        (
            f"/acme/bookings/{SECRET}/documents/",
            f"/acme/bookings/{SECRET}/documents/",
            "",
            "/acme/bookings/[redacted]/",
        ),
        (
            f"/acme/sign-in/external/?externalToken={SECRET}&next=/acme/",
            "/acme/sign-in/external/",
            f"externalToken={SECRET}&next=/acme/",
            "/acme/sign-in/external/?externalToken=[redacted]&next=[redacted]",
        ),
        (
            f"/acme/sign-in/?next=%2Facme%2Fbookings%2F{SECRET}%2F",
            "/acme/sign-in/",
            f"next=%2Facme%2Fbookings%2F{SECRET}%2F",
            "/acme/sign-in/?next=[redacted]",
        ),
        (
            f"/acme/sign-in/external/?external%54oken={SECRET}",
            "/acme/sign-in/external/",
            f"external%54oken={SECRET}",
            "/acme/sign-in/external/?external%54oken=[redacted]",
        ),
    ],
)
def test_gunicorn_access_log_writes_token_addresses_redacted(tmp_path, raw_uri, path_info, query, logged):
    line = gunicorn_access_line(tmp_path, raw_uri, path_info, query)

    assert SECRET not in line
    assert f'"GET {logged}' in line
    assert line.startswith("203.0.113.9 - - [")
    assert '302 0 "-" "Mail scanner"' in line


def test_gunicorn_access_log_redacts_a_token_in_the_referrer(tmp_path):
    referer = f"https://portal.example.com/acme/sign-in/external/?externalToken={SECRET}"

    line = gunicorn_access_line(tmp_path, "/acme/sign-in/external/", "/acme/sign-in/external/", referer=referer)

    assert SECRET not in line
    assert '"https://portal.example.com/acme/sign-in/external/?externalToken=[redacted]"' in line


@pytest.mark.parametrize(
    "path",
    [
        "/acme/support/portal/open/",
        "/acme/support/portal/new-link/sent/",
        "/acme/link/open/",
        "/acme/link/new/sent/",
        "/acme/bookings/",
    ],
)
def test_gunicorn_access_log_keeps_addresses_without_a_secret_as_sent(tmp_path, path):
    line = gunicorn_access_line(tmp_path, path + "?page=2", path, "page=2")

    assert f'"GET {path}?page=2 HTTP/1.1"' in line


def secret_routes(resolver: URLResolver | None = None, prefix: str = "") -> dict[str, set[str]]:
    """Every route whose address carries a secret (a token, a booking's reference), with its parameters."""
    found = {}
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            inner = secret_routes(pattern, prefix + namespace)
            found.update(
                {name: parameters | set(pattern.pattern.regex.groupindex) for name, parameters in inner.items()}
            )
        elif isinstance(pattern, URLPattern) and {"token", "reference"} & set(pattern.pattern.regex.groupindex):
            found[prefix + pattern.name] = set(pattern.pattern.regex.groupindex)
    return found


def test_every_address_that_carries_a_secret_is_redacted():
    routes = secret_routes()
    assert {"portal_auth:password_link", "tickets:portal_link", "bookings:detail"} <= set(routes)

    for route, parameters in routes.items():
        values = {
            "org": "acme",
            "token": SECRET,
            "reference": SECRET,
            "day": datetime.date(2030, 1, 7),
            "time": datetime.time(10),
        }
        path = reverse(route, kwargs={name: values.get(name, 1) for name in parameters})

        assert SECRET not in redact_path(path), path


def test_django_log_lines_name_a_token_address_without_its_token():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "%s: %s",
        ("Bad Request", f"/acme/support/portal/{SECRET}"),
        None,
    )

    RedactSecretsFilter().filter(record)

    assert record.getMessage() == "Bad Request: /acme/support/portal/[redacted]"


def test_every_log_handler_redacts_secrets():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact_secrets" in handler.get("filters", []), name


def nginx_map(name: str) -> list[tuple[re.Pattern, str]]:
    """The regex lines of one `map … $name { }` block of deploy/nginx.conf, read as Python patterns."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    block = re.search(r"map \$\S+ \$" + name + r" \{(.*?)\n\}", text, re.S).group(1)
    rules = []
    for line in block.splitlines():
        line = line.strip()
        if not line.startswith("~"):
            continue
        regex, value = line.rstrip(";").rsplit(None, 1)
        flags = re.I if regex.startswith("~*") else 0
        regex = regex.lstrip("~*").strip().replace("(?<", "(?P<").replace("(?P<!", "(?<!").replace("(?P<=", "(?<=")
        rules.append((re.compile(regex, flags), value.strip('"')))
    return rules


def nginx_value(name: str, value: str) -> str:
    for regex, result in nginx_map(name):
        if match := regex.search(value):
            return re.sub(r"\$(\w+)", lambda variable, found=match: found.group(variable.group(1)) or "", result)
    return value


@pytest.mark.parametrize(
    ("request_uri", "logged"),
    [
        (f"/acme/support/portal/{SECRET}", "/acme/support/portal/[redacted]"),
        (f"/acme/password/link/{SECRET}/?next=/x", "/acme/password/link/[redacted]/?next=[redacted]"),
        (f"/acme/sign-in/?next=%2Facme%2Fbookings%2F{SECRET}%2F", "/acme/sign-in/?next=[redacted]"),
        (f"/acme/bookings/{SECRET}/", "/acme/bookings/[redacted]/"),
        (f"/acme/link/{SECRET}", "/acme/link/[redacted]"),
        ("/acme/link/open/", "/acme/link/open/"),
        (f"/acme/profile/email/link/{SECRET}", "/acme/profile/email/link/[redacted]"),
        ("/acme/profile/email/confirm/", "/acme/profile/email/confirm/"),
        (f"/acme/password%2Flink%2F{SECRET}", "/acme/[redacted]"),
        (
            f"/acme/sign-in/external/?externalToken={SECRET}&next=/a",
            "/acme/sign-in/external/?externalToken=[redacted]&next=[redacted]",
        ),
        (f"/acme/x/?token={SECRET}&page=2&token={SECRET}", "/acme/x/?token=[redacted]&page=2&token=[redacted]"),
        ("/acme/support/portal/open/", "/acme/support/portal/open/"),
        ("/acme/bookings/?page=2", "/acme/bookings/?page=2"),
    ],
)
def test_nginx_example_logs_token_addresses_redacted(request_uri, logged):
    loggable = nginx_value("portal_loggable_uri", request_uri)
    once = nginx_value("portal_logged_uri_once", loggable)

    assert nginx_value("portal_logged_uri", once) == logged


def test_nginx_example_logs_a_referrer_with_a_token_redacted():
    referer = f"https://portal.example.com/acme/sign-in/external/?externalToken={SECRET}"

    assert nginx_value("portal_logged_referer", referer) == "[redacted]"
    assert (
        nginx_value("portal_logged_referer", "https://portal.example.com/acme/") == "https://portal.example.com/acme/"
    )


def test_django_s_own_loggers_write_only_through_the_redacting_handler():
    """Django's defaults add a console of their own (in DEBUG, so `make run`) and runserver's request lines."""
    for name in ("django", "django.server"):
        logger = settings.LOGGING["loggers"][name]

        assert logger["propagate"] is False
        for handler in logger["handlers"]:
            assert "redact_secrets" in settings.LOGGING["handlers"][handler]["filters"]
