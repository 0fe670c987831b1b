"""Whole pages kept in the cache, made stale by versions that every write bumps.

A page is stored with the *versions* of the scopes it depends on (a customer, an organisation), read
before the page is rendered, and served only while they are still the scopes' versions: the page and the
versions come back in one round trip. A write deletes the versions of the scopes it touches, after its
transaction commits: the next reader finds no version, starts a new random one, and every page stored
with the old one is never served again. So a page rendered from data read before a write is stored, at
worst, with a version that no longer exists; an evicted version only costs a miss; and nothing depends on
counters the cache might lose.

Which scopes a write touches is declared once per model with `watch()`, beside the rule that decides who
may see it (each app's selectors), and the model's saves and deletes, from a service, the admin or a
command, bump them. A write that bypasses `save()` (a queryset `update()`) calls `pages_changed()`.

What differs between two requests for the same page (the CSRF token, the CSP nonce) is rendered as a
placeholder and filled in for each response, so a stored page never carries one request's secrets to
the next.
"""

import functools
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.utils.crypto import salted_hmac

from portal_core.csrf import masked_token

logger = logging.getLogger(__name__)

type Scopes = Callable[[Any], Iterable[str]]

_VERSION_PREFIX = "pv:"
# Entries are (versions, content type, content): "page2:" since they carry their versions.
_PAGE_PREFIX = "page2:"
# A version outlives the pages stored with it; when it expires they are no longer served, which only costs a miss.
_VERSION_TIMEOUT = 24 * 3600
_RENDERING_FOR_CACHE = "_page_cache_rendering"
_WATCHED: dict[type[Model], Scopes] = {}


def enabled() -> bool:
    return settings.PAGE_CACHE_ENABLED


@functools.cache
def _placeholder(name: str) -> str:
    # Keyed from SECRET_KEY, so no text typed into a message can be mistaken for a placeholder.
    return "pc" + salted_hmac("portal_core.page_cache.placeholder", name, algorithm="sha256").hexdigest()[:30]


def placeholders() -> dict[str, str]:
    """Template context for a page rendered to be stored: what each response fills in for itself (the pages'
    CSRF field, `csrf_input`, writes the token's placeholder: portal_core/context_processors.py)."""
    return {"csrf_token": _placeholder("csrf"), "csp_nonce": _placeholder("csp"), "sent_once": _placeholder("once")}


def rendering_for_cache(request: HttpRequest) -> bool:
    return getattr(request, _RENDERING_FOR_CACHE, False)


def versions(scopes: list[str]) -> list[str] | None:
    """The current version of each scope, starting a new one where there is none; None if the cache fails."""
    keys = [_VERSION_PREFIX + scope for scope in scopes]
    try:
        found = cache.get_many(keys)
    except Exception:
        logger.warning("Page cache: the cache could not be read", exc_info=True)
        return None
    return _completed(keys, found)


def _completed(keys: list[str], found: dict[str, Any]) -> list[str] | None:
    """The versions under `keys`, `found` read already, those missing started; None if the cache fails."""
    try:
        for key in keys:
            if key not in found:
                # add() keeps whichever reader came first; the others read it back.
                cache.add(key, secrets.token_hex(8), timeout=_VERSION_TIMEOUT)
                found[key] = cache.get(key)
    except Exception:
        logger.warning("Page cache: the cache could not be read", exc_info=True)
        return None
    if None in (found.get(key) for key in keys):  # evicted at once: render, store nothing
        return None
    return [found[key] for key in keys]


def page_key(parts: Iterable[object]) -> str:
    return _PAGE_PREFIX + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def fact_get(key: str) -> Any:
    """A small fact kept beside the pages (under a key built from `versions`), or None: a failed cache knows nothing."""
    try:
        return cache.get(key)
    except Exception:
        logger.warning("Page cache: the cache could not be read", exc_info=True)
        return None


def fact_set(key: str, value: Any, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.warning("Page cache: the cache could not be written", exc_info=True)


def page_get(request: HttpRequest, key: str, scopes: list[str]) -> tuple[HttpResponse | None, list[str] | None]:
    """The page stored under `key` if it was stored at the current versions of `scopes`, and those versions, to
    store a page with; (None, None) if the cache fails (render, store nothing). One round trip for both."""
    version_keys = [_VERSION_PREFIX + scope for scope in scopes]
    try:
        found = cache.get_many([*version_keys, key])
    except Exception:
        logger.warning("Page cache: the cache could not be read", exc_info=True)
        return None, None
    stored = found.pop(key, None)
    current = _completed(version_keys, found)
    if current is None or stored is None:
        return None, current
    stored_versions, content_type, content = stored
    if stored_versions != current:  # stored before a write that changed what it shows
        return None, current
    return filled(request, HttpResponse(content, content_type=content_type)), current


def page_store(request: HttpRequest, key: str, versions: list[str], response: HttpResponse) -> HttpResponse:
    """Keep `response`, rendered with `placeholders()` at `versions`, under `key`; give it back with this request's
    values."""
    try:
        stored = (versions, response["Content-Type"], response.content)
        cache.set(key, stored, timeout=settings.PAGE_CACHE_TIMEOUT)
    except Exception:
        logger.warning("Page cache: the cache could not be written", exc_info=True)
    return filled(request, response)


def render_for_cache(request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
    setattr(request, _RENDERING_FOR_CACHE, True)
    try:
        return view()
    finally:
        setattr(request, _RENDERING_FOR_CACHE, False)


def not_for_keeping(response: HttpResponse) -> HttpResponse:
    """Mark a page its scopes would not make stale (shown for a reason other than who is asking)."""
    response._page_cache_skip = True  # type: ignore[attr-defined]
    return response


def storable(response: HttpResponse) -> bool:
    return (
        not getattr(response, "_page_cache_skip", False)
        and response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and not response.cookies
    )


def filled(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """`response` with this request's CSRF token and CSP nonce where the page has placeholders, and a token of
    its own for each form that is sent once (portal_core/sent_once.py): two views of one kept page are two sendings."""
    if response.streaming:
        return response
    content = response.content
    for name, value in (("csrf", masked_token), ("csp", lambda request: str(get_nonce(request)))):
        placeholder = _placeholder(name).encode()
        if placeholder in content:
            content = content.replace(placeholder, value(request).encode())
    once = _placeholder("once").encode()
    while once in content:
        content = content.replace(once, secrets.token_urlsafe(16).encode(), 1)
    response.content = content
    return response


# ---------------------------------------------------------------------------------------------
# Writes make pages stale


def scopes_changed(scopes: Iterable[str]) -> None:
    """Make every page that depends on `scopes` stale, once the current transaction commits.

    Bumped at once as well, for whoever reads inside this transaction, and again after the commit: until
    then another reader could still read the old rows and store them under a newer version.
    """
    keys = {_VERSION_PREFIX + scope for scope in scopes}
    if not keys or not enabled():  # no page is kept: no version to bump
        return
    if transaction.get_connection().in_atomic_block:
        _versions_delete(keys)
    transaction.on_commit(lambda: _versions_delete(keys), robust=True)


def _versions_delete(keys: set[str]) -> None:
    try:
        if isinstance(caches[DEFAULT_CACHE_ALIAS], DatabaseCache):
            # The database cache shares the write's connection: a failed DELETE must not abort its transaction.
            with transaction.atomic():
                cache.delete_many(list(keys))
        else:
            cache.delete_many(list(keys))
    except Exception:
        # Pages already stored stay until PAGE_CACHE_TIMEOUT: the reason that timeout is short.
        logger.exception(
            "Page cache: versions could not be bumped; pages may be stale for up to %ss", settings.PAGE_CACHE_TIMEOUT
        )


def watch(model: type[Model], scopes: Scopes, *, previous: bool = False) -> None:
    """Every save or delete of a `model` instance makes the pages of `scopes(instance)` stale.

    With `previous`, the scopes of the row as it was before an update count too (a ticket moved to
    another requester leaves the first one's pages as well).
    """
    _WATCHED[model] = scopes
    uid = f"page_cache:{model._meta.label}"
    post_save.connect(_saved, sender=model, dispatch_uid=uid)
    pre_delete.connect(_deleting, sender=model, dispatch_uid=uid)
    post_delete.connect(_deleted, sender=model, dispatch_uid=uid)
    if previous:
        pre_save.connect(_saving, sender=model, dispatch_uid=uid)


def watch_members(through: type[Model], scopes: Callable[[set[int] | None, Any], Iterable[str]]) -> None:
    """Changes to a many-to-many relation: `scopes(pks, instance)` with the added or removed pks (None on clear)."""

    def changed(sender, instance, action, pk_set, **kwargs) -> None:
        if action in ("post_add", "post_remove", "pre_clear"):
            scopes_changed(scopes(pk_set, instance))

    m2m_changed.connect(changed, sender=through, dispatch_uid=f"page_cache:{through._meta.label}", weak=False)


def pages_changed(instance: Model) -> None:
    """For writes that bypass save(): the pages showing `instance` are stale."""
    scopes_changed(_WATCHED[type(instance)](instance))


def _saving(sender, instance, raw=False, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    before = sender._base_manager.filter(pk=instance.pk).first()
    if before is not None:
        scopes_changed(_WATCHED[sender](before))


def _saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        scopes_changed(_WATCHED[sender](instance))


def _deleting(sender, instance, **kwargs) -> None:
    # Who could see it is asked while its relations still exist.
    try:
        instance._page_cache_scopes = list(_WATCHED[sender](instance))
    except ObjectDoesNotExist:  # a parent already deleted in the same cascade
        instance._page_cache_scopes = []


def _deleted(sender, instance, **kwargs) -> None:
    scopes_changed(getattr(instance, "_page_cache_scopes", ()))
