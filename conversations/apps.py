from django.apps import AppConfig

from portal_core.sections import Section


class ConversationsConfig(AppConfig):
    name = "conversations"
    section: Section

    def ready(self) -> None:
        from conversations import demo, page_scopes, selectors
        from conversations.services import REPLY_EMAILS

        page_scopes.watch()

        self.section = Section(
            key="conversations",
            title="Conversations",
            list_url_name="conversations:list",
            order=30,
            home_template="conversations/home_section.html",
            home_items=selectors.recent_conversations_for,
            knows_email=selectors.organisation_has_conversation_email,
            seed_demo=demo.seed_demo,
            optional_emails=(REPLY_EMAILS,),
            # The businesses' own sites link to conversations most often.
            can_land=True,
        )
