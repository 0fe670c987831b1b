"""Staff answer tickets and conversations in the admin: every control named, notes told apart, redaction confirmed.

Runs in a real browser with axe-core on the ticket's and the conversation's change pages and the redaction page.
"""

import pytest
from django.core.files.base import ContentFile

from conversations.models import Attachment, Message
from tests.conversations.factories import ConversationFactory, MessageFactory
from tests.e2e.conftest import SCREENSHOTS, WCAG_TAGS, _axe
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.tickets.factories import TicketFactory, TicketMessageFactory
from tickets.models import TicketMessage

STAFF_PASSWORD = "staff-password-for-tests"
# Django admin's autocomplete widget (its vendored select2) names its box only once a value is chosen:
# its markup, not ours, so it is left out of the check. Every other element of these pages is checked.
DJANGO_ADMIN_MARKUP = [[".select2-selection"], [".select2-selection__rendered"]]
pytestmark = pytest.mark.e2e


def assert_no_serious_violations(page, name: str) -> None:
    """Screenshot, then fail on any critical or serious WCAG 2.2 A/AA violation axe-core finds."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{page.viewport_name}.png", full_page=True)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results = _axe.run(page, context={"exclude": DJANGO_ADMIN_MARKUP}, options=options)
    serious = [v for v in results.response["violations"] if v["impact"] in ("critical", "serious")]
    report = "\n".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in serious)
    assert not serious, f"Accessibility violations on {name}:\n{report}"


@pytest.fixture
def staff_page(page, live_server):
    staff = StaffUserFactory(first_name="Camille", last_name="Durand")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_staff_reply_to_a_ticket_with_a_named_form_and_see_their_note_marked(staff_page, live_server):
    page = staff_page
    customer = CustomerFactory(organisation=OrganisationFactory(), email="alice@example.com")
    ticket = TicketFactory(organisation=customer.organisation, requester=customer, subject="Lost luggage")
    TicketMessageFactory(ticket=ticket, body="My suitcase never arrived.")

    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")
    assert_no_serious_violations(page, "admin-ticket-change")
    page.get_by_label("Write a reply").fill("Checked with the airline: it is in Lisbon.")
    page.get_by_role("group", name="Send as").get_by_label("Internal note").check()
    page.get_by_role("button", name="Save and continue editing").click()

    assert "Internal note added." in page.locator(".messagelist").inner_text()
    note = page.locator(".staff-timeline li.internal")
    assert "Internal note" in note.locator(".badge").inner_text()
    assert "Checked with the airline" in note.inner_text()
    assert TicketMessage.objects.get(body__startswith="Checked").internal is True
    assert_no_serious_violations(page, "admin-ticket-note-added")


def test_staff_redact_a_conversation_message_after_a_confirmation_page(staff_page, live_server):
    page = staff_page
    conversation = ConversationFactory(subject="Seat upgrade")
    message = MessageFactory(conversation=conversation, body="My card number is 4111 1111 1111 1111")
    attachment = Attachment(message=message, original_name="card.pdf", size=9, content_type="application/pdf")
    attachment.file.save("card.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    attachment.save()
    MessageFactory(
        conversation=conversation, body="Fraud check pending", internal=True, direction=Message.Direction.FROM_STAFF
    )

    page.goto(f"{live_server.url}/admin/conversations/conversation/{conversation.pk}/change/")
    assert "Internal note" in page.locator(".staff-timeline li.internal .badge").inner_text()
    assert_no_serious_violations(page, "admin-conversation-change")
    page.get_by_role("link", name="Redact message 1").click()

    assert "4111 1111 1111 1111" in page.locator("#content").inner_text()
    assert "card.pdf" in page.locator("#content").inner_text()
    assert_no_serious_violations(page, "admin-conversation-redact")
    page.get_by_role("button", name="Yes, redact it").click()

    assert "The message was redacted." in page.locator(".messagelist").inner_text()
    message.refresh_from_db()
    assert message.is_redacted and message.body == ""
    assert not Message.objects.get(pk=message.pk).attachments.exists()
    assert_no_serious_violations(page, "admin-conversation-redacted")


def test_staff_close_the_password_door_with_a_checkbox_and_the_sign_in_page_drops_it(staff_page, live_server):
    page = staff_page
    organisation = OrganisationFactory(name="Voyages Lumière")

    page.goto(f"{live_server.url}/admin/portal_auth/organisation/{organisation.pk}/change/")
    page.screenshot(path=SCREENSHOTS / f"admin-organisation-doors-{page.viewport_name}.png", full_page=True)
    # Checked where the doors are: the page's logo input (Django's own file widget) is outside this test.
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    assert _axe.run(page, context={"include": [["#id_doors"]]}, options=options).violations_count == 0
    doors = page.locator("#id_doors")
    assert doors.get_by_label("Email and password").is_checked()
    doors.get_by_label("Email and password").uncheck()
    page.get_by_role("button", name="Save and continue editing").click()

    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    organisation.refresh_from_db()
    assert organisation.doors == ["access_link"]
    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/")
    assert page.get_by_role("link", name="Email me a link").is_visible()
    assert page.get_by_label("Password").count() == 0
