"""One ticket: its facts and its public conversation, for the customers who may see it and nobody else."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from outbox.models import OutboxEmail
from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused, look_alike, refused_looks
from tests.tickets.conftest import PDF_BYTES
from tickets.models import Ticket, TicketAttachment
from tickets.services import ticket_staff_messages_publish


def detail(ticket):
    return f"/{ticket.organisation.slug}/support/{ticket.number}/"


def attach(message, name="receipt.pdf", content=PDF_BYTES):
    attachment = TicketAttachment(
        message=message, original_name=name, content_type="application/pdf", size=len(content)
    )
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
    for text in ("Waiting for your reply", "Urgent", "Inès Duval", f"{ticket.created_at:%Y}", "Reply"):
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


@pytest.mark.parametrize("page", ["", "reply/", "solve/", "created/"])
@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_a_number_too_long_for_any_ticket_is_404(sign_in, customer, number, page):
    client = sign_in(customer)
    path = f"/{customer.organisation.slug}/support/{number}/{page}"
    response = client.post(path, {"body": "Hello"}) if page in ("reply/", "solve/") else client.get(path)
    assert response.status_code == 404


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


def solve_url(ticket):
    return f"{detail(ticket)}solve/"


def test_the_detail_shows_the_status_in_customer_words(sign_in, customer, make_ticket):
    ticket = make_ticket(status=Ticket.Status.PENDING)
    page = sign_in(customer).get(detail(ticket)).content.decode()
    assert 'badge-status-pending">Waiting for your reply</span>' in page
    assert "Pending" not in page


def test_the_ticket_page_offers_to_mark_it_solved_after_a_confirmation(sign_in, customer, ticket):
    client = sign_in(customer)
    assert f'href="{solve_url(ticket)}"' in client.get(detail(ticket)).content.decode()

    response = client.get(solve_url(ticket))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Mark #{ticket.number} solved?" in page
    assert "Mark it solved" in page and 'method="post"' in page
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert not ticket.messages.exists()
    assert not OutboxEmail.objects.exists()


@pytest.mark.parametrize("status", [Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING])
def test_marking_solved_logs_it_on_the_timeline_and_emails_the_agent(
    sign_in, customer, make_ticket, status, mailoutbox, django_capture_on_commit_callbacks
):
    agent = get_user_model().objects.create(username="agent9", email="ines@voyages.example", is_staff=True)
    ticket = make_ticket(status=status, assigned_agent=agent)
    client = sign_in(customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(solve_url(ticket))

    assert response.status_code == 302
    assert response["Location"] == f"{detail(ticket)}#latest"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    event = ticket.messages.get()
    assert (event.author_customer, event.internal) == (customer, False)
    assert event.body == "Marked this ticket solved."
    assert ticket.updated_at == event.created_at
    assert [email.to for email in mailoutbox] == [["ines@voyages.example"]]
    assert f"[#{ticket.number}]" in mailoutbox[0].subject and "marked solved" in mailoutbox[0].subject
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in mailoutbox[0].body

    page = client.get(detail(ticket)).content.decode()
    assert "You marked this ticket solved." in page
    assert "Solved — reply to reopen" in page
    assert "Marked this ticket solved." in page
    assert f'href="{solve_url(ticket)}"' not in page


def test_an_unassigned_ticket_marked_solved_emails_the_support_address(
    sign_in, customer, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(customer).post(solve_url(ticket))
    assert [email.to for email in mailoutbox] == [["help@voyages.example"]]


def test_marking_a_solved_ticket_solved_again_changes_nothing(
    sign_in, customer, make_ticket, django_capture_on_commit_callbacks
):
    ticket = make_ticket(status=Ticket.Status.SOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(customer).post(solve_url(ticket))
    assert response.status_code == 302
    assert not ticket.messages.exists()
    assert not OutboxEmail.objects.exists()


def test_a_closed_ticket_cannot_be_marked_solved(sign_in, customer, make_ticket):
    ticket = make_ticket(status=Ticket.Status.CLOSED)
    client = sign_in(customer)
    assert f'href="{solve_url(ticket)}"' not in client.get(detail(ticket)).content.decode()

    response = client.post(solve_url(ticket))

    assert response.status_code == 409
    assert "This ticket is closed" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert not ticket.messages.exists()
    assert not OutboxEmail.objects.exists()


def test_a_reply_after_marking_solved_reopens_the_ticket(sign_in, customer, ticket):
    client = sign_in(customer)
    client.post(solve_url(ticket))
    client.post(f"{detail(ticket)}reply/", {"body": "Actually, one more thing."})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_nobody_else_can_mark_a_ticket_solved(sign_in, ticket, stranger):
    assert sign_in(stranger).post(solve_url(ticket)).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_marking_solved_needs_a_csrf_token(sign_in, customer, ticket):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert client.post(solve_url(ticket)).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_a_staff_reply_email_gives_the_status_in_customer_words(
    customer, make_ticket, make_message, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = make_ticket(status=Ticket.Status.PENDING)
    message = make_message(ticket=ticket, from_staff=True, author_staff=staff_user, body="Which seat would you like?")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_staff_messages_publish(ticket=ticket, messages=[message], staff_user=staff_user, created=False)

    [email] = mailoutbox
    assert email.to == [customer.email]
    assert "Status: Waiting for your reply" in email.body
    assert "Status: <strong>Waiting for your reply</strong>" in email.alternatives[0].content
    assert "Pending" not in email.body + email.alternatives[0].content


def test_each_message_lists_its_own_attachments_in_order_and_staff_messages_carry_the_badge(
    sign_in, customer, ticket, make_message, staff_user, django_assert_max_num_queries
):
    first = make_message(ticket=ticket, body="Two files")
    attach(first, "a-first.pdf")
    attach(first, "b-second.pdf")
    make_message(ticket=ticket, from_staff=True, author_staff=staff_user, author_name="Sam", body="None here")
    last = make_message(ticket=ticket, body="One file")
    attach(last, "c-third.pdf")
    client = sign_in(customer)
    client.get(detail(ticket))

    with django_assert_max_num_queries(6):
        page = client.get(detail(ticket)).content.decode()

    assert re.findall(r'<li class="thread-message ([a-z-]+)"', page) == ["from-customer", "from-staff", "from-customer"]
    threads = re.split(r'<li class="thread-message ', page)[1:]
    assert re.findall(r">([a-c]-\w+\.pdf)<", threads[0]) == ["a-first.pdf", "b-second.pdf"]
    assert re.findall(r">([a-c]-\w+\.pdf)<", threads[1]) == []
    assert re.findall(r">([a-c]-\w+\.pdf)<", threads[2]) == ["c-third.pdf"]
    assert '<strong>Sam</strong> <span class="badge">' in threads[1]
