"""One ticket: its facts and its public conversation, for the customers who may see it and nobody else."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused, look_alike, refused_looks
from tests.tickets.conftest import PDF_BYTES
from tickets.models import Ticket, TicketAttachment


def detail(ticket):
    return f"/{ticket.organisation.slug}/support/{ticket.number}/"


def attach(message, name="receipt.pdf", content=PDF_BYTES):
    attachment = TicketAttachment(message=message, name=name, content_type="application/pdf", size=len(content))
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


def test_the_detail_shows_the_tickets_facts(sign_in, customer, make_ticket):
    agent = get_user_model().objects.create(username="agent7", first_name="Inès", last_name="Duval", is_staff=True)
    ticket = make_ticket(subject="Seat upgrade", status=Ticket.Status.PENDING, priority=Ticket.Priority.URGENT)
    ticket.assigned_agent = agent
    ticket.save()

    response = sign_in(customer).get(detail(ticket))

    page = response.content.decode()
    assert response.status_code == 200
    assert f"#{ticket.number}</span> Seat upgrade" in page
    for text in ("Pending", "Urgent", "Inès Duval", f"{ticket.created_at:%Y}", "Reply"):
        assert text in page
    assert "agent7" not in page  # staff usernames stay in the admin


def test_an_unassigned_ticket_says_so(sign_in, customer, ticket):
    assert "Not assigned yet" in sign_in(customer).get(detail(ticket)).content.decode()


def test_the_conversation_is_in_order_with_authors(sign_in, customer, ticket, make_message, staff_user):
    staff_user.first_name, staff_user.last_name = "Sam", "Agent"
    staff_user.save()
    make_message(ticket=ticket, body="First, from the customer")
    make_message(ticket=ticket, from_staff=True, author_staff=staff_user, body="Second, from staff")
    make_message(ticket=ticket, body="Third, from the customer again")

    page = sign_in(customer).get(detail(ticket)).content.decode()

    bodies = re.findall(r"<p>(First|Second|Third)[^<]*</p>", page)
    assert bodies == ["First", "Second", "Third"]
    assert "Sam Agent" in page
    assert 'id="latest"' in page


def test_message_text_is_escaped(sign_in, customer, ticket, make_message):
    make_message(ticket=ticket, body="<script>alert('x')</script>")
    page = sign_in(customer).get(detail(ticket)).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("who", ["another customer", "another organisation's customer", "nobody signed in"])
def test_nobody_else_reaches_the_ticket_by_its_number(client, sign_in, ticket, other_organisation, who):
    if who == "nobody signed in":
        response = client.get(detail(ticket))
        assert response.status_code == 302
        return
    organisation = ticket.organisation if who == "another customer" else other_organisation
    response = sign_in(CustomerFactory(organisation=organisation)).get(f"/{organisation.slug}/support/{ticket.number}/")
    assert response.status_code == 404
    assert ticket.subject not in response.content.decode()


def test_a_ticket_of_another_organisation_with_the_same_number_stays_hidden(
    sign_in, customer, make_ticket, other_organisation
):
    mine = make_ticket(subject="Mine")
    theirs = make_ticket(organisation=other_organisation, subject="Theirs")
    assert mine.number == theirs.number == 1
    page = sign_in(customer).get(detail(mine)).content.decode()
    assert "Mine" in page and "Theirs" not in page
    assert sign_in(customer).get(f"/{other_organisation.slug}/support/1/").status_code == 302  # not their portal


def test_a_ticket_that_does_not_exist_is_404(sign_in, customer):
    assert sign_in(customer).get(f"/{customer.organisation.slug}/support/999/").status_code == 404


def test_attachments_download_for_the_customer_only(sign_in, customer, ticket, make_message, stranger):
    attachment = attach(make_message(ticket=ticket))
    path = f"{detail(ticket)}attachments/{attachment.pk}/"
    client = sign_in(customer)
    assert path in client.get(detail(ticket)).content.decode()

    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert 'attachment; filename="receipt.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"

    assert sign_in(stranger).get(path).status_code == 404
    # By id alone, through a ticket of the customer's own: still 404.
    other = attach(
        make_message(
            ticket=type(ticket).objects.create(
                organisation=ticket.organisation, number=999, requester=stranger, subject="x"
            )
        )
    )
    assert client.get(f"{detail(ticket)}attachments/{other.pk}/").status_code == 404


def test_the_detail_costs_the_same_queries_with_2_or_40_messages(
    sign_in, customer, ticket, make_message, staff_user, django_assert_max_num_queries
):
    client = sign_in(customer)
    for count in (2, 40):
        while ticket.messages.count() < count:
            message = make_message(ticket=ticket)
            attach(message)
            make_message(ticket=ticket, from_staff=True, author_staff=staff_user)
            make_message(ticket=ticket, internal=True, author_staff=staff_user)
        with django_assert_max_num_queries(5):
            response = client.get(detail(ticket))
        assert response.status_code == 200


def test_no_ticket_page_stays_in_the_browsers_cache(sign_in, customer, ticket):
    """After signing out, the back button must not show the customer's tickets from the cache."""
    client = sign_in(customer)
    slug = customer.organisation.slug
    pages = [f"/{slug}/support/", detail(ticket), f"/{slug}/support/new/", f"{detail(ticket)}created/"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], page
    refused_reply = client.post(f"{detail(ticket)}reply/", {"body": ""})
    assert refused_reply.status_code == 400
    assert "no-store" in refused_reply["Cache-Control"]


def test_an_attachment_whose_file_is_gone_is_not_found_rather_than_an_error(
    sign_in, admin_client, customer, ticket, make_message
):
    attachment = attach(make_message(ticket=ticket))
    attachment.file.delete(save=False)

    assert sign_in(customer).get(f"{detail(ticket)}attachments/{attachment.pk}/").status_code == 404
    assert admin_client.get(f"/admin/tickets/ticket/attachments/{attachment.pk}/").status_code == 404


def test_a_look_at_someone_elses_ticket_and_at_a_missing_one_look_alike_and_are_both_logged(sign_in, ticket, stranger):
    client = sign_in(stranger)

    someone_elses = client.get(detail(ticket), HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(someone_elses, customer=stranger, what=f"ticket {ticket.number}", hidden=ticket.subject)
    missing = client.get(f"/{ticket.organisation.slug}/support/999/", HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(missing, customer=stranger, what="ticket 999")

    assert look_alike(missing, someone_elses)
    assert refused_looks() == 2


def test_the_ticket_created_page_of_someone_elses_ticket_is_a_refused_look(sign_in, ticket, stranger):
    response = sign_in(stranger).get(f"{detail(ticket)}created/", HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=stranger, what=f"ticket {ticket.number}", hidden=ticket.subject)


def test_a_look_at_another_tickets_attachment_is_logged_without_its_name(
    sign_in, customer, ticket, make_message, stranger
):
    attachment = attach(make_message(ticket=ticket), name="passport-scan.pdf")
    path = f"{detail(ticket)}attachments/{attachment.pk}/"

    response = sign_in(stranger).get(path, HTTP_USER_AGENT=USER_AGENT)

    event = assert_look_refused(response, customer=stranger, what=f"ticket attachment {attachment.pk}")
    assert "passport" not in event.reason


def test_the_ticket_owner_leaves_no_refused_look(sign_in, customer, ticket, make_message):
    attachment = attach(make_message(ticket=ticket))
    client = sign_in(customer)

    assert client.get(detail(ticket)).status_code == 200
    assert client.get(f"{detail(ticket)}attachments/{attachment.pk}/").status_code == 200
    assert refused_looks() == 0
