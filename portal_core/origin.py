"""Where an action came from, as services record it: an address and a user agent, never the HTTP request.

Built once at the edge (a view, a command, an API call) and passed down as `origin=`, so that a service
is called alike from each of them.
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

# Long enough for any real browser's; a visitor may send a user agent of any length.
USER_AGENT_MAX_LENGTH = 300


@dataclass(frozen=True)
class ClientOrigin:
    ip: str | None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> "ClientOrigin":
        address = client_ip(request)
        return cls(
            ip=address if address != "unknown" else None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
        )

    @classmethod
    def command(cls, name: str) -> "ClientOrigin":
        """A management command's own origin: no address, its name where a browser would be."""
        return cls(ip=None, user_agent=f"manage.py {name}"[:USER_AGENT_MAX_LENGTH])


def client_ip(request: HttpRequest) -> str:
    """The visitor's address. Behind N trusted proxies, the Nth address from the right of X-Forwarded-For.

    Only the proxies' own additions are trusted: anything further left could be written by the visitor.
    """
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops and _is_address(forwarded[-hops]):
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or "unknown"


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
