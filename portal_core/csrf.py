"""The CSRF token a page's forms carry: Django's get_token(), its mask drawn in one read of the random source.

Django draws the 32 characters of a token's mask one `secrets.choice()` at a time, a system call each (35 µs a
page, every signed-in page having a form). The token is the same as Django's: a random mask, then the cookie's
secret shifted by it, which Django's check unmasks; the cookie is renewed as get_token() renews it.
"""

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

_CHARS = CSRF_ALLOWED_CHARS
# Bytes from 248 up are dropped, so that every character is as likely (256 is no multiple of 62).
_UNBIASED_BELOW = 256 - 256 % len(_CHARS)


def _random_positions(count: int) -> list[int]:
    positions: list[int] = []
    while len(positions) < count:
        spare = count - len(positions) + 8  # 3% of bytes are dropped: one read nearly always suffices
        positions += [byte % len(_CHARS) for byte in secrets.token_bytes(spare) if byte < _UNBIASED_BELOW]
    return positions[:count]


def masked_token(request: HttpRequest) -> str:
    """What Django's get_token(request) answers, drawn with one read of the system's random source."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:  # no secret yet: Django makes one, and the cookie that carries it
        return get_token(request)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # as get_token(): the cookie goes out again, its expiry renewed
    mask = _random_positions(CSRF_SECRET_LENGTH)
    shifted = (_CHARS.index(char) + shift for char, shift in zip(secret, mask, strict=True))
    cipher = "".join(_CHARS[position % len(_CHARS)] for position in shifted)
    return "".join(_CHARS[shift] for shift in mask) + cipher
