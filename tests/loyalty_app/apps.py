from django.apps import AppConfig

from portal_core import page_cache
from portal_core.sections import Section


class LoyaltyConfig(AppConfig):
    name = "tests.loyalty_app"
    label = "loyalty"
    default_auto_field = "django.db.models.BigAutoField"
    section: Section

    def ready(self) -> None:
        from tests.loyalty_app import demo, selectors
        from tests.loyalty_app.models import Membership

        # Whose cached pages a membership changes (portal_core/page_cache.py): the customer with its email.
        page_cache.watch(Membership, selectors.membership_page_scopes)

        self.section = Section(
            key="loyalty",
            title="Loyalty",
            list_url_name="loyalty:list",
            order=40,
            home_template="loyalty/home_section.html",
            home_items=selectors.memberships_for,
            knows_email=selectors.organisation_has_member_email,
            seed_demo=demo.seed_demo,
        )
