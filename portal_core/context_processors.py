from django.http import HttpRequest

from portal_core.sections import sections


def portal_sections(request: HttpRequest) -> dict:
    """The installed sections, for the nav every portal page carries."""
    return {"portal_sections": sections()}
