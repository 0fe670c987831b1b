from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Warning

from portal_core.ratelimit import parse_rules


def proxy_count_named(app_configs, **kwargs) -> list[Warning]:
    """Behind a proxy that is not counted, every visitor has the proxy's address, and a rate limit per address
    becomes one limit for the whole site: 20 wrong passwords from anyone lock everyone out of the password door."""
    if settings.TRUSTED_PROXY_COUNT:
        return []
    return [
        Warning(
            "TRUSTED_PROXY_COUNT is 0: behind a reverse proxy (deploy/nginx.conf), every visitor has the proxy's "
            "address, and each rate limit per address (sign-in, emailed links, codes) counts all visitors together.",
            hint="Set TRUSTED_PROXY_COUNT=1 behind one proxy (nginx); silence portal_core.W001 if gunicorn faces "
            "the internet itself.",
            id="portal_core.W001",
        )
    ]


def rate_limits_parse(app_configs, **kwargs) -> list[Error]:
    """A rate limit written wrong (RATE_LIMIT_* in the environment) is found here, at start, not by every sign-in
    it guards failing."""
    errors = []
    for action, spec in settings.PORTAL_RATE_LIMITS.items():
        try:
            parse_rules(spec)
        except ValueError as error:
            errors.append(Error(f"The rate limit of {action!r}: {error}", id="portal_core.E002"))
    return errors


def site_url_public(app_configs, **kwargs) -> list[Warning]:
    """Every emailed link starts with SITE_URL: one on this machine, or without TLS, reaches no customer safely."""
    address = urlparse(settings.SITE_URL)
    if address.scheme == "https" and address.hostname not in (None, "localhost", "127.0.0.1", "::1"):
        return []
    return [
        Warning(
            f"SITE_URL is {settings.SITE_URL!r}: every link the portal emails starts with it.",
            hint="Set SITE_URL to the portal's public https:// address, e.g. https://portal.example.com.",
            id="portal_core.W002",
        )
    ]
