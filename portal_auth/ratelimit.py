"""Rate limits declared as data in settings.PORTAL_RATE_LIMITS, counted in the shared cache.

"10/5m/ip,5/5m/key" means: at most 10 per five minutes from one IP address, and at most
5 per five minutes for one key (an email, say). Windows are fixed, so every process that
shares the cache shares the count.
"""

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rule:
    count: int
    seconds: int
    scope: str  # "ip" or "key"


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Rate limited; retry after {retry_after}s")
        self.retry_after = retry_after


def parse_rules(spec: str) -> list[Rule]:
    rules = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        count, period, scope = part.split("/")
        digits = period.rstrip("smhd") or "1"
        unit = period[len(digits) :] if period[0].isdigit() else period
        if scope not in ("ip", "key"):
            raise ValueError(f"Unknown rate-limit scope in {part!r}")
        rules.append(Rule(int(count), int(digits) * _UNITS[unit], scope))
    return rules


def client_ip(request) -> str:
    """The visitor's address. Behind N trusted proxies, the Nth address from the right of X-Forwarded-For.

    Only the proxies' own additions are trusted: anything further left could be written by the visitor.
    """
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops and _is_address(forwarded[-hops]):
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or "unknown"


def _cache_key(action: str, rule: Rule, subject: str, window: int) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"rl:{action}:{rule.scope}:{rule.seconds}:{window}:{digest}"


def _subjects(rule: Rule, request, key: str | None) -> str | None:
    if rule.scope == "ip":
        return client_ip(request)
    return key.lower() if key else None


def _windows(action: str, request, key: str | None):
    now = time.time()
    for rule in parse_rules(settings.PORTAL_RATE_LIMITS[action]):
        subject = _subjects(rule, request, key)
        if subject is None:
            continue
        window = int(now // rule.seconds)
        retry_after = math.ceil((window + 1) * rule.seconds - now)
        yield rule, _cache_key(action, rule, subject, window), retry_after


def check(action: str, request, key: str | None = None) -> None:
    """Raise RateLimited if any rule of `action` is already used up; count nothing."""
    for rule, cache_key, retry_after in _windows(action, request, key):
        if (cache.get(cache_key) or 0) >= rule.count:
            raise RateLimited(retry_after)


def hit(action: str, request, key: str | None = None) -> None:
    """Count one event against every rule of `action`."""
    for rule, cache_key, _ in _windows(action, request, key):
        if not cache.add(cache_key, 1, timeout=rule.seconds + 1):
            try:
                cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.add(cache_key, 1, timeout=rule.seconds + 1)


def consume(action: str, request, key: str | None = None) -> None:
    """Check, then count: for actions limited whether or not they succeed."""
    check(action, request, key)
    hit(action, request, key)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
