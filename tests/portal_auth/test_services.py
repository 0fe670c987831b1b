"""portal_auth/services.py: which emails an organisation knows, asked of every section."""

from conversations.selectors import organisation_has_conversation_email
from portal_auth.services import organisation_knows_email
from portal_core.sections import sections
from tests.factories import CustomerFactory
from tickets.selectors import organisation_has_requester_email


def test_conversation_email_is_an_identity_source(conversation, other_organisation):
    email = conversation.customer.email

    assert organisation_has_conversation_email(conversation.organisation, email.upper())
    assert not organisation_has_conversation_email(other_organisation, email)
    assert organisation_knows_email(conversation.organisation, email)


def test_requesters_are_known_to_the_organisation(organisation, other_organisation, make_ticket):
    assert organisation_has_requester_email in [section.knows_email for section in sections()]
    ticket = make_ticket()
    assert organisation_has_requester_email(organisation, ticket.requester.email)
    assert not organisation_has_requester_email(other_organisation, ticket.requester.email)
    assert not organisation_has_requester_email(organisation, CustomerFactory(organisation=organisation).email)
    assert organisation_knows_email(organisation, ticket.requester.email)
