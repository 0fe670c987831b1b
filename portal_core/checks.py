from django.conf import settings
from django.core.checks import Warning


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
