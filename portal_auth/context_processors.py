from portal_auth.portal_sections import nav_sections


def portal(request):
    """The portal this page belongs to (its name, look and sections), its organisation, and who is signed in."""
    return {
        "portal": getattr(request, "portal", None),
        "organisation": getattr(request, "organisation", None),
        "portal_customer": getattr(request, "portal_customer", None),
    }


def portal_sections(request):
    """The sections the nav of a portal page links to, in the portal's order."""
    portal = getattr(request, "portal", None)
    if portal is None:
        return {"portal_sections": []}
    return {"portal_sections": nav_sections(portal, getattr(request, "portal_customer", None))}
