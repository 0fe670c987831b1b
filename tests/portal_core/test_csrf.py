"""The CSRF token the pages' forms carry (portal_core/csrf.py): Django's token, drawn in one random read."""

import collections
import secrets

from django.middleware.csrf import CSRF_ALLOWED_CHARS, _does_token_match, get_token
from django.test import RequestFactory

from portal_core import csrf


def _request_with_cookie_secret():
    request = RequestFactory().get("/")
    get_token(request)  # Django makes the secret, as its middleware does from the cookie
    request.META.pop("CSRF_COOKIE_NEEDS_UPDATE")
    return request


def test_the_token_is_a_masked_secret_which_djangos_check_accepts_and_the_cookie_is_renewed():
    request = _request_with_cookie_secret()
    token = csrf.masked_token(request)
    assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
    assert token[32:] != request.META["CSRF_COOKIE"]  # masked: the secret is not in the page as it is
    assert _does_token_match(token, request.META["CSRF_COOKIE"])
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert not _does_token_match(token, _request_with_cookie_secret().META["CSRF_COOKIE"])


def test_each_token_has_a_fresh_mask_read_in_one_draw(monkeypatch):
    reads = []
    real = secrets.token_bytes
    monkeypatch.setattr(csrf.secrets, "token_bytes", lambda count: reads.append(count) or real(count))
    request = _request_with_cookie_secret()
    tokens = {csrf.masked_token(request) for _ in range(50)}
    assert len(tokens) == 50
    assert len(reads) == 50


def test_without_a_secret_yet_django_makes_one_and_the_cookie_that_carries_it():
    request = RequestFactory().get("/")
    token = csrf.masked_token(request)
    assert _does_token_match(token, request.META["CSRF_COOKIE"])
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_mask_characters_are_drawn_without_bias_dropped_bytes_read_again(monkeypatch):
    # A read of only dropped bytes (248 and up), then a read of usable ones.
    reads = iter([bytes([255] * 40), bytes(range(40))])
    monkeypatch.setattr(csrf.secrets, "token_bytes", lambda count: next(reads)[:count])
    assert csrf._random_positions(32) == list(range(32))
    monkeypatch.undo()
    counts = collections.Counter(csrf._CHARS[position] for _ in range(400) for position in csrf._random_positions(32))
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    assert max(counts.values()) < 2.2 * min(counts.values())
