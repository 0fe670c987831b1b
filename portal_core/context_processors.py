from django.http import HttpRequest

from portal_core import page_cache
from portal_core.sections import sections_shown


def portal_sections(request: HttpRequest) -> dict:
    """The installed sections, for the nav every portal page carries: those with something in this portal."""
    return {"portal_sections": sections_shown(getattr(request, "organisation", None))}


def page_cache_placeholders(request: HttpRequest) -> dict:
    return page_cache.placeholders() if page_cache.rendering_for_cache(request) else {}
