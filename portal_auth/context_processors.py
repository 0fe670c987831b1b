def portal(request):
    """The organisation whose portal this page belongs to, for branding, and who is signed in."""
    return {
        "organisation": getattr(request, "organisation", None),
        "portal_customer": getattr(request, "portal_customer", None),
    }
