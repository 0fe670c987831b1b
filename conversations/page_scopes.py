"""Whose cached pages a write in the conversations app makes stale: the conversation's customer."""

from conversations.models import Attachment, Conversation, ConversationSettings, DisplayedAttribute, Message
from portal_auth.page_cache import customer_scope, organisation_scope
from portal_core import page_cache


def conversation_scopes(conversation: Conversation) -> list[str]:
    return [customer_scope(conversation.customer_id)]


def _settings_scopes(settings: ConversationSettings) -> list[str]:
    return [organisation_scope(settings.organisation_id)]


def watch() -> None:
    page_cache.watch(Conversation, conversation_scopes, previous=True)
    page_cache.watch(Message, lambda message: conversation_scopes(message.conversation))
    page_cache.watch(Attachment, lambda attachment: conversation_scopes(attachment.message.conversation))
    page_cache.watch(ConversationSettings, _settings_scopes)
    page_cache.watch(DisplayedAttribute, lambda attribute: _settings_scopes(attribute.settings))
