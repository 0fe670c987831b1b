from functools import cached_property

from django.http import HttpRequest
from django.utils.html import format_html

from portal_core import page_cache
from portal_core.csrf import masked_token


class _CsrfInput:
    """The CSRF field, masked once however many forms a page prints it in (Django's Jinja2 `csrf_input` masks
    the token again at each), and only if one does. A page
    rendered for the page cache gets the token's placeholder, which each response fills in for itself."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def _markup(self) -> str:
        if page_cache.rendering_for_cache(self._request):
            token = page_cache.placeholders()["csrf_token"]
        else:
            token = masked_token(self._request)
        return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)

    def __html__(self) -> str:
        return self._markup

    def __str__(self) -> str:
        return self._markup


def csrf_input(request: HttpRequest) -> dict:
    """For the customer's pages (Jinja2): `{{ csrf_input }}`, the same on every form of the page."""
    return {"csrf_input": _CsrfInput(request)}


def page_cache_placeholders(request: HttpRequest) -> dict:
    return page_cache.placeholders() if page_cache.rendering_for_cache(request) else {}
