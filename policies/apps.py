from django.apps import AppConfig

from portal_core.sections import Section


class PoliciesConfig(AppConfig):
    name = "policies"
    section: Section

    def ready(self) -> None:
        from policies import demo, page_scopes, selectors, services

        page_scopes.watch()
        services.watch()

        self.section = Section(
            key="policies",
            title="Policies",
            list_url_name="policies:list",
            order=90,
            is_empty=lambda organisation: not selectors.organisation_has_policies(organisation),
            seed_demo=demo.seed_demo,
        )
