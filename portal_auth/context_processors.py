from portal_auth.portal_sections import SECTION_OF_NAMESPACE, footer_links_shown, nav_sections


def portal(request):
    """The portal this page belongs to (its name, look and sections), its organisation, and who is signed in."""
    return {
        "portal": getattr(request, "portal", None),
        "organisation": getattr(request, "organisation", None),
        "portal_customer": getattr(request, "portal_customer", None),
    }


def portal_sections(request):
    """The sections the nav of a portal page links to, in the portal's order, and which of them (or the home,
    "portal_home") this page belongs to."""
    portal = getattr(request, "portal", None)
    if portal is None:
        return {"portal_sections": []}
    match = request.resolver_match
    current = (match.app_name or match.url_name) if match else ""
    # The home works out which sections hold something as it fills its panels, and says so (portal_project/views.py).
    held = getattr(request, "portal_sections_held", None)
    return {
        "portal_sections": nav_sections(portal, getattr(request, "portal_customer", None), held),
        "nav_current": SECTION_OF_NAMESPACE.get(current, current),
        "footer_links": footer_links_shown(portal),
    }
