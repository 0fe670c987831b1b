from django.apps import AppConfig


class PortalAuthConfig(AppConfig):
    name = "portal_auth"
    verbose_name = "Customers and sign-in"
