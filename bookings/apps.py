from django.apps import AppConfig

from portal_core.sections import Section


class BookingsConfig(AppConfig):
    name = "bookings"
    section: Section

    def ready(self) -> None:
        from bookings import demo, page_scopes, selectors

        page_scopes.watch()

        self.section = Section(
            key="bookings",
            title="My bookings",
            list_url_name="bookings:list",
            order=10,
            home_template="bookings/home_section.html",
            home_items=selectors.next_bookings_for,
            knows_email=selectors.organisation_has_attendee_email,
            seed_demo=demo.seed_demo,
        )
