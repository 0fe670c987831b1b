from django.apps import AppConfig

from portal_core.sections import Section


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"
    section: Section

    def ready(self) -> None:
        from billing import add_ons, demo, page_scopes, selectors

        page_scopes.watch()
        add_ons.watch()

        self.section = Section(
            key="billing",
            title="Billing",
            list_url_name="billing:list",
            order=35,
            # No panel on the home: it would be the home's seventh query (each section's panel costs one).
            knows_email=selectors.organisation_bills_email,
            seed_demo=demo.seed_demo,
        )
