"""portal_auth/services.py: which emails an organisation knows, asked of every section; the footer's links."""

from conversations.selectors import organisation_has_conversation_email
from portal_auth.page_cache import organisation_scope
from portal_auth.services import organisation_footer_links_set, organisation_knows_email
from portal_core import page_cache
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


def test_footer_links_of_one_group_leave_the_others_alone(organisation):
    policies = [{"title": "Terms", "path": "policies/terms/"}]
    organisation_footer_links_set(organisation_id=organisation.pk, group="policies", links=policies)
    organisation_footer_links_set(
        organisation_id=organisation.pk, group="accessibility", links=[{"title": "Access", "path": "access/"}]
    )
    organisation_footer_links_set(organisation_id=organisation.pk, group="accessibility", links=[])

    organisation.refresh_from_db()
    assert organisation.footer_links == {"policies": policies}


def test_unchanged_footer_links_leave_every_cached_page_alone(organisation, monkeypatch):
    links = [{"title": "Terms", "path": "policies/terms/"}]
    organisation_footer_links_set(organisation_id=organisation.pk, group="policies", links=links)
    bumped = []
    monkeypatch.setattr(page_cache, "scopes_changed", lambda scopes: bumped.append(list(scopes)))

    organisation_footer_links_set(organisation_id=organisation.pk, group="policies", links=list(links))
    assert bumped == []

    organisation_footer_links_set(organisation_id=organisation.pk, group="policies", links=[])
    assert [organisation_scope(organisation.pk)] in bumped
