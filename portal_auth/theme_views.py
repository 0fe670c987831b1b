"""The portal's look as every page of it links it: its theme stylesheet (portal_auth/themes.py), its logo and its
favicon."""

from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_safe

from portal_auth.decorators import organisation_page
from portal_auth.models import image_version
from portal_core.uploads import ICO, JPEG, PNG, WEBP, detect_kind

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


# What the admin lets through for each (portal_core.uploads.validate_logo, validate_favicon), checked again by
# content when served: an image is only ever sent as the image it is.
_IMAGE_KINDS = {"logo": (PNG, JPEG, WEBP), "favicon": (PNG, ICO)}


@require_safe
@organisation_page
def portal_image(request, organisation, image: str):
    """The portal's logo or favicon, from storage (uploads are not served otherwise); public, as the sign-in page
    shows them."""
    stored = getattr(request.portal, image)
    if not stored:
        raise Http404(f"This portal has no {image}.")
    try:
        file = stored.open("rb")
    except FileNotFoundError:
        raise Http404(f"The {image} is missing.") from None
    kind = detect_kind(file)
    file.seek(0)
    if kind not in _IMAGE_KINDS[image]:
        file.close()
        raise Http404(f"The {image} is not an image this portal shows.")
    response = FileResponse(file, content_type=kind.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = VERSIONED if request.GET.get("v") == image_version(stored) else "no-cache"
    return response
