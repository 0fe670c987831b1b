from django.apps import AppConfig

from portal_core.sections import Section


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"
    section: Section

    def ready(self) -> None:
        from billing import demo, page_scopes, selectors

        page_scopes.watch()

        self.section = Section(
            key="billing",
            title="Billing",
            list_url_name="billing:list",
            order=35,
            home_template="billing/home_section.html",
            home_items=selectors.open_invoices_for,
            knows_email=selectors.organisation_bills_email,
            seed_demo=demo.seed_demo,
        )
