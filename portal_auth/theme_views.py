"""The portal's theme stylesheet (portal_auth/themes.py), linked from every page of the portal."""

from django.http import HttpResponse
from django.views.decorators.http import require_safe

from portal_auth.decorators import organisation_page

# The address names its version, so what it serves never changes: a year, with no revalidation.
VERSIONED = "public, max-age=31536000, immutable"


@require_safe
@organisation_page
def theme_stylesheet(request, organisation):
    theme = request.portal.theme
    response = HttpResponse(theme.stylesheet, content_type="text/css; charset=utf-8")
    # A page kept from before a change asks for the old version: it gets today's colours, which no one may keep.
    response["Cache-Control"] = VERSIONED if request.GET.get("v") == theme.version else "no-cache"
    return response
