"""Rate limits declared as data in settings.PORTAL_RATE_LIMITS, counted in the database.

"10/5m/ip,5/5m/key" means: at most 10 per five minutes from one IP address, and at most
5 per five minutes for one key (an email, say). Windows are fixed, so every process that
shares the database shares the count.

`source` is the request, or the ClientOrigin a service was given: the "ip" rules count its address.

Each attempt takes its slot before the work it guards (`consume`, `reserve`), with one atomic
upsert per rule, so parallel attempts can never exceed a limit; an attempt that must not count
(a successful sign-in) gives its slot back. Counters are rows, not cache entries: nothing evicts
one before its window ends, whatever the cache. A counter that cannot be written raises the
database's error: the attempt is refused, never let through uncounted.
"""

import hashlib
import ipaddress
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from portal_core.models import RateLimitCounter
from portal_core.origin import ClientOrigin

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rule:
    count: int
    seconds: int
    scope: str  # "ip" or "key"


@dataclass(frozen=True)
class _Window:
    rule: Rule
    key: str
    expires_at: datetime
    retry_after: int


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Rate limited; retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass
class Reservation:
    """The slots one attempt took, one per rule; `release` gives them back if the attempt must not count."""

    keys: list[str] = field(default_factory=list)

    def release(self) -> None:
        table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
        with connection.cursor() as cursor:
            # One row per statement, in the order they were taken: a statement that locked several rows
            # in whatever order its scan met them could deadlock with another's.
            for key in self.keys:
                cursor.execute(f'UPDATE {table} SET hits = hits - 1 WHERE "key" = %s AND hits > 0', [key])  # noqa: S608
        self.keys = []


_RULE = re.compile(r"(?P<count>[0-9]+)/(?P<digits>[0-9]*)(?P<unit>[smhd])/(?P<scope>ip|key)")


def parse_rules(spec: str) -> list[Rule]:
    """`"5/5m/ip,20/h/key"`: so many attempts a period (s, m, h or d, after a number or not) per address or per key.
    ValueError, naming the part, for anything else."""
    rules = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        matched = _RULE.fullmatch(part)
        if matched is None:
            raise ValueError(f"{part!r} is no rate limit: write it as attempts/period/scope, e.g. 5/5m/ip or 20/h/key.")
        seconds = int(matched["digits"] or 1) * _UNITS[matched["unit"]]
        rules.append(Rule(int(matched["count"]), seconds, matched["scope"]))
    return rules


def _counter_key(action: str, rule: Rule, subject: str, window: int) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{action}:{rule.scope}:{rule.seconds}:{window}:{digest}"


def _address_counted(ip: str | None) -> str:
    """What a limit per address counts: an IPv4 address, or an IPv6 address's /64, which a single host is given
    whole (counting each address would let it walk through 2^64 of them)."""
    if not ip:
        return "unknown"  # every visitor without an address shares one count
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _subjects(rule: Rule, origin: ClientOrigin, key: str | None) -> str | None:
    if rule.scope == "ip":
        return _address_counted(origin.ip)
    return key.lower() if key else None


def _windows(action: str, source: HttpRequest | ClientOrigin, key: str | None) -> list[_Window]:
    now = time.time()
    origin = source if isinstance(source, ClientOrigin) else ClientOrigin.from_request(source)
    windows = []
    for rule in parse_rules(settings.PORTAL_RATE_LIMITS[action]):
        subject = _subjects(rule, origin, key)
        if subject is None:
            continue
        window = int(now // rule.seconds)
        ends = (window + 1) * rule.seconds
        windows.append(
            _Window(
                rule=rule,
                key=_counter_key(action, rule, subject, window),
                expires_at=datetime.fromtimestamp(ends, tz=UTC),
                retry_after=max(1, math.ceil(ends - now)),
            )
        )
    return windows


def _count_one_more(window: _Window) -> int:
    """Add one to the window's counter, creating it if need be, and return the new count: one statement."""
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {table} ("key", hits, expires_at) VALUES (%s, 1, %s) '  # noqa: S608
            f'ON CONFLICT ("key") DO UPDATE SET hits = {table}.hits + 1 RETURNING hits',
            [window.key, connection.ops.adapt_datetimefield_value(window.expires_at)],
        )
        return cursor.fetchone()[0]


def check(action: str, source: HttpRequest | ClientOrigin, key: str | None = None) -> None:
    """Raise RateLimited if any rule of `action` is already used up; count nothing.

    Only for pages that show, rather than do, what the limit guards: whatever does the work reserves.
    """
    windows = _windows(action, source, key)
    used = dict(RateLimitCounter.objects.filter(key__in=[w.key for w in windows]).values_list("key", "hits"))
    for window in windows:
        if used.get(window.key, 0) >= window.rule.count:
            raise RateLimited(window.retry_after)


def reserve(action: str, source: HttpRequest | ClientOrigin, key: str | None = None) -> Reservation:
    """Take one slot under every rule of `action`, or raise RateLimited and take none.

    Call it before the work the limit guards, so that parallel attempts queue on the counter
    rather than all passing a check together. `release()` the reservation if the attempt must
    not count (a success, where only failures are limited). Call it outside any transaction, as forms
    are validated: a count made inside one would vanish if it rolled back.
    """
    windows = _windows(action, source, key)
    taken = Reservation()
    for window in windows:
        taken.keys.append(window.key)
        if _count_one_more(window) > window.rule.count:
            # A refused attempt counts nowhere. Between its count and its give-back a parallel attempt
            # may be refused too: never one too many let through, at worst one too many turned away.
            taken.release()
            raise RateLimited(window.retry_after)
    return taken


def consume(action: str, source: HttpRequest | ClientOrigin, key: str | None = None) -> None:
    """Count one attempt, or raise RateLimited: for actions limited whether or not they succeed."""
    reserve(action, source, key)


def counters_purge(*, now: datetime) -> int:
    """Delete the counters of windows that have ended; returns how many."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=now).delete()
    return deleted


class RateLimitedForm(forms.Form):
    """A customer's form whose every submission takes a slot of `rate_limit_action` before any field is cleaned.

    Cleaning looks inside every attached file (archives, images, documents): counted afterwards, a request over the
    limit would still cost that work before its 429. The form is given the `request`; `rate_limit_key()` names
    whose count it is (None: the address's alone).
    """

    rate_limit_action: str

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def rate_limit_key(self) -> str | None:
        return None

    def full_clean(self) -> None:
        if self.is_bound:
            consume(self.rate_limit_action, self.request, key=self.rate_limit_key())
        super().full_clean()
