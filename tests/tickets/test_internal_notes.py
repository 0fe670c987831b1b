"""Internal notes reach no customer: not in any page, download or email."""

from django.core.files.base import ContentFile
from django.test import Client

from outbox.models import OutboxEmail
from tests.conftest import link_in
from tests.tickets.conftest import open_access_link
from tickets.models import Ticket, TicketAttachment, TicketSettings
from tickets.services import ticket_portal_link_send, ticket_staff_messages_publish

SECRET = "INTERNAL-ONLY customer is a known chargeback risk"


def test_internal_notes_are_in_no_customer_facing_page_or_email(
    sign_in, customer, ticket, make_message, staff_user, ticket_settings, django_capture_on_commit_callbacks, mailoutbox
):
    ticket.organisation.notification_links_sign_in = True
    ticket.organisation.save()
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    make_message(ticket=ticket, body="Where is my refund?")
    note = make_message(ticket=ticket, internal=True, author_staff=staff_user, body=SECRET)
    attachment = TicketAttachment(message=note, original_name="risk.pdf", content_type="application/pdf", size=9)
    attachment.file.save("risk.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    attachment.save()
    public = make_message(ticket=ticket, from_staff=True, author_staff=staff_user, body="Your refund is on its way.")

    with django_capture_on_commit_callbacks(execute=True):
        ticket_staff_messages_publish(ticket=ticket, messages=[note, public], staff_user=staff_user, created=False)
        ticket_portal_link_send(ticket=ticket, staff_user=staff_user)
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/{ticket.organisation.slug}/support/{ticket.number}/reply/", {"body": "Thanks!"})
        client.post(
            f"/{ticket.organisation.slug}/support/new/", {"subject": "Another", "priority": "low", "body": "Hi"}
        )

    org = ticket.organisation.slug
    pages = [
        f"/{org}/",
        f"/{org}/support/",
        f"/{org}/support/?q=risk",
        f"/{org}/support/{ticket.number}/",
        f"/{org}/support/{Ticket.objects.get(subject='Another').number}/created/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET not in response.content.decode(), path
        assert "risk.pdf" not in response.content.decode(), path
    assert "Your refund is on its way." in client.get(f"/{org}/support/{ticket.number}/").content.decode()
    assert client.get(f"/{org}/support/{ticket.number}/attachments/{attachment.pk}/").status_code == 404
    # The link in the emails opens the same pages.
    opened = open_access_link(Client(), link_in(mailoutbox[0].body, "/support/portal/"))
    assert opened["Location"] == f"/{org}/support/{ticket.number}/"

    customer_emails = OutboxEmail.objects.filter(to=customer.email)
    assert customer_emails.count() == 3  # the reply, the link, the new ticket's confirmation
    for email in customer_emails:
        assert SECRET not in email.subject + email.body_text + email.body_html
    assert "Your refund is on its way." in customer_emails.get(template="tickets/emails/staff_reply").body_text


def test_search_does_not_match_internal_note_text(sign_in, customer, ticket, make_message, staff_user):
    make_message(ticket=ticket, internal=True, author_staff=staff_user, body="chargeback")
    response = sign_in(customer).get(f"/{ticket.organisation.slug}/support/?q=chargeback")
    assert "No tickets match" in response.content.decode()
