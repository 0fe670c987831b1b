from django.http import HttpRequest

from portal_core import page_cache


def page_cache_placeholders(request: HttpRequest) -> dict:
    return page_cache.placeholders() if page_cache.rendering_for_cache(request) else {}
