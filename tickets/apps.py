from django.apps import AppConfig

from portal_core.sections import Section


class TicketsConfig(AppConfig):
    name = "tickets"
    section: Section

    def ready(self) -> None:
        from tickets import demo, page_scopes, selectors
        from tickets.services import REPLY_EMAILS

        page_scopes.watch()

        self.section = Section(
            key="tickets",
            title="Support",
            list_url_name="tickets:list",
            order=20,
            home_template="tickets/home_section.html",
            home_items=selectors.recent_tickets_for,
            knows_email=selectors.organisation_has_requester_email,
            seed_demo=demo.seed_demo,
            optional_emails=(REPLY_EMAILS,),
        )
