"""A customer without a password answers a staff reply from its email: the link names their account, one press
signs them in on the conversation, and the same link a second time offers a new one. Real browser and SMTP."""

import pytest

from conversations.services import conversation_staff_reply
from tests.conftest import link_in
from tests.conversations.factories import ConversationFactory
from tests.e2e.conftest import check_page
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.smtp import text_of

pytestmark = pytest.mark.e2e


def test_a_reply_email_signs_its_customer_in_once_on_the_conversation(page, live_server, smtp_server):
    organisation = OrganisationFactory(name="Voyages Lumière", notification_links_sign_in=True)
    customer = CustomerFactory(organisation=organisation, email="alice@example.com", name="Alice Martin")
    conversation = ConversationFactory(customer=customer, subject="Suitcase missing after the Lisbon flight")
    conversation_staff_reply(
        conversation=conversation, staff_user=StaffUserFactory(), body="It is at the hotel.", internal=False
    )
    link = link_in(text_of(smtp_server.messages_to("alice@example.com")[-1]), f"/{organisation.slug}/link/")

    page.goto(link)
    assert page.url == f"{live_server.url}/{organisation.slug}/link/open/"
    assert "This link opens the portal of alice@example.com at Voyages Lumière." in page.locator(".lead").inner_text()
    check_page(page, "notification-link-1-open")
    page.get_by_role("button", name="Open portal").click()

    assert page.url == f"{live_server.url}/{organisation.slug}/conversations/{conversation.pk}/"
    assert "It is at the hotel." in page.locator(".timeline-item").last.inner_text()
    check_page(page, "notification-link-2-conversation")

    page.context.clear_cookies()
    page.goto(link)
    assert page.url == f"{live_server.url}/{organisation.slug}/link/new/"
    assert "This link no longer works" in page.locator("h1").inner_text()
    check_page(page, "notification-link-3-used")
    page.get_by_label("Your email address").fill("alice@example.com")
    page.get_by_role("button", name="Email me a new link").click()
    assert "Check your email" in page.locator("h1").inner_text()
    check_page(page, "notification-link-4-sent")
