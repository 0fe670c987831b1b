from django.apps import AppConfig

from portal_core.sections import OptionalEmail, Section

# Kept as the customer's consent for the business to read; the portal itself sends no such email yet.
NEWS_EMAILS = OptionalEmail(
    key="news",
    label="News and offers",
    hint="Now and then, an email about what's new. None unless you tick this.",
    default=False,
)


class ProfilesConfig(AppConfig):
    name = "profiles"
    default_auto_field = "django.db.models.BigAutoField"
    section: Section

    def ready(self) -> None:
        from profiles import demo, page_scopes, services

        page_scopes.watch()

        self.section = Section(
            key="profile",
            title="Profile",
            list_url_name="profile:detail",
            # Last in the nav: the customer's own details come after what the business holds for them.
            order=90,
            optional_emails=(NEWS_EMAILS,),
            seed_demo=demo.seed_demo,
            purge_expired=services.email_changes_purge,
        )
