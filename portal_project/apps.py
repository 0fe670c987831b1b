from django.apps import AppConfig


class PortalProjectConfig(AppConfig):
    """Pages and commands that span every domain app (the portal home, the demo data)."""

    name = "portal_project"
    verbose_name = "Portal"
