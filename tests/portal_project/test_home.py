from datetime import timedelta

from django.utils import timezone

from conversations.selectors import organisation_has_conversation_email
from portal_auth.services import organisation_knows_email
from tests.conversations.factories import ConversationFactory


def test_home_shows_the_three_most_recent_conversations(sign_in, customer, other_customer):
    now = timezone.now()
    for days, subject in enumerate(["Newest", "Second", "Third", "Fourth"]):
        ConversationFactory(customer=customer, subject=subject, last_activity_at=now - timedelta(days=days))
    ConversationFactory(customer=other_customer, subject="Someone else's")

    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert 'id="home-conversations-heading"' in html
    assert html.index("Newest") < html.index("Second") < html.index("Third")
    assert "Fourth" not in html and "Someone else" not in html
    assert f'href="/{customer.organisation.slug}/conversations/"' in html


def test_nav_links_to_conversations_and_marks_the_current_page(sign_in, customer):
    html = sign_in(customer).get(f"/{customer.organisation.slug}/conversations/").content.decode()

    assert f'<a href="/{customer.organisation.slug}/conversations/" aria-current="page">Conversations</a>' in html


def test_conversation_email_is_an_identity_source(conversation, other_organisation):
    email = conversation.customer.email

    assert organisation_has_conversation_email(conversation.organisation, email.upper())
    assert not organisation_has_conversation_email(other_organisation, email)
    assert organisation_knows_email(conversation.organisation, email)
