from django.apps import AppConfig
from django.core import checks


class PortalCoreConfig(AppConfig):
    """The layer below every other app: it imports only Django and libraries, never an app of the portal."""

    name = "portal_core"
    verbose_name = "Portal core"

    def ready(self) -> None:
        from portal_core.checks import proxy_count_named, rate_limits_parse, site_url_public
        from portal_core.tasks import work_done_in_requests
        from portal_core.uploads import files_go_with_their_rows

        files_go_with_their_rows()

        checks.register(work_done_in_requests)
        checks.register(rate_limits_parse)
        checks.register(proxy_count_named, checks.Tags.security, deploy=True)
        checks.register(site_url_public, checks.Tags.security, deploy=True)
