from django.apps import AppConfig


class PortalCoreConfig(AppConfig):
    """The layer below every other app: it imports only Django and libraries, never an app of the portal."""

    name = "portal_core"
    verbose_name = "Portal core"
