from django.apps import AppConfig


class PortalAuthConfig(AppConfig):
    name = "portal_auth"
    verbose_name = "Customers and sign-in"

    def ready(self) -> None:
        from portal_auth.page_cache import watch_identities

        watch_identities()
