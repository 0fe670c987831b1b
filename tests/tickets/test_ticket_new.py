"""A new ticket from the portal: linked to the customer, numbered, confirmed on a page and by email."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from outbox.models import OutboxEmail
from tests.conftest import assert_link_signs_in_once, assert_plain_link
from tests.tickets.conftest import PDF_BYTES
from tickets.models import Ticket, TicketAttachment, TicketMessage


def new_url(organisation):
    return f"/{organisation.slug}/support/new/"


def post_new(client, organisation, **data):
    data = {"subject": "Wheelchair at the airport", "priority": "high", "body": "I need assistance at Lisbon.", **data}
    return client.post(new_url(organisation), data)


def test_the_form_has_a_label_for_every_field(sign_in, customer):
    page = sign_in(customer).get(new_url(customer.organisation)).content.decode()
    for field in ("subject", "priority", "body", "attachments"):
        assert f'<label for="id_{field}">' in page
    assert 'enctype="multipart/form-data"' in page


def test_a_new_ticket_is_created_confirmed_and_announced(
    sign_in, customer, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_new(client, customer.organisation, attachments=[SimpleUploadedFile("letter.pdf", PDF_BYTES)])

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/{customer.organisation.slug}/support/{ticket.number}/created/"
    assert (ticket.organisation, ticket.requester, ticket.number) == (customer.organisation, customer, 1)
    assert (ticket.subject, ticket.priority, ticket.status) == ("Wheelchair at the airport", "high", "new")
    message = TicketMessage.objects.get()
    assert (message.ticket, message.author_customer, message.internal) == (ticket, customer, False)
    assert TicketAttachment.objects.get().message == message

    confirmation = client.get(response["Location"]).content.decode()
    assert "We've received your ticket" in confirmation
    assert f"#{ticket.number}" in confirmation

    to_customer, to_staff = mailoutbox
    assert to_customer.to == [customer.email]
    assert f"#{ticket.number}" in to_customer.subject
    assert "I need assistance at Lisbon." in to_customer.body
    assert f"https://portal.example.test/{customer.organisation.slug}/support/{ticket.number}/" in to_customer.body
    assert to_customer.alternatives[0].mimetype == "text/html"
    assert to_staff.to == [customer.organisation.support_email]
    assert "1 attachment" in to_staff.body


def test_the_confirmation_links_to_the_ticket_signing_in_once_where_the_organisation_allows(
    sign_in, customer, mailoutbox, django_capture_on_commit_callbacks
):
    customer.organisation.notification_links_sign_in = True
    customer.organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        post_new(sign_in(customer), customer.organisation)

    ticket = Ticket.objects.get()
    to_customer, _ = mailoutbox
    assert "This link signs you in, once, until" in to_customer.alternatives[0].content
    lands_on = f"/{customer.organisation.slug}/support/{ticket.number}/"
    assert_link_signs_in_once(to_customer, customer=customer, lands_on=lands_on, link_path="/support/portal/")


def test_without_the_setting_the_confirmation_links_to_the_ticket_behind_sign_in(
    sign_in, customer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_new(sign_in(customer), customer.organisation)

    ticket = Ticket.objects.get()
    assert_plain_link(mailoutbox[0], path=f"/{customer.organisation.slug}/support/{ticket.number}/")


def test_numbers_follow_on_per_organisation(sign_in, customer, other_organisation):
    from tests.factories import CustomerFactory

    client = sign_in(customer)
    for _ in range(3):
        post_new(client, customer.organisation)
    post_new(sign_in(CustomerFactory(organisation=other_organisation)), other_organisation)
    assert list(Ticket.objects.filter(organisation=customer.organisation).values_list("number", flat=True)) == [3, 2, 1]
    assert Ticket.objects.get(organisation=other_organisation).number == 1


def test_the_ticket_joins_the_customers_only_company(sign_in, customer, make_company):
    company = make_company(organisation=customer.organisation, members=[customer])
    post_new(sign_in(customer), customer.organisation)
    assert Ticket.objects.get().company == company


def test_missing_fields_are_explained_and_nothing_is_written(sign_in, customer):
    response = post_new(sign_in(customer), customer.organisation, subject="", body="", priority="whenever")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Give your ticket a subject." in page and "Tell us how we can help." in page
    assert "Choose a priority from the list." in page
    assert not Ticket.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_a_bad_attachment_stops_the_whole_ticket(sign_in, customer):
    response = post_new(
        sign_in(customer), customer.organisation, attachments=[SimpleUploadedFile("virus.exe.pdf", b"\x00MZ" * 50)]
    )
    assert response.status_code == 400
    assert "not a file we accept" in response.content.decode()
    assert not Ticket.objects.exists()
    assert not TicketAttachment.objects.exists()


def test_a_failed_ticket_does_not_use_up_a_number(sign_in, customer, monkeypatch):
    client = sign_in(customer)
    monkeypatch.setattr("tickets.services._notify_staff", lambda *a, **k: 1 / 0)
    try:
        post_new(client, customer.organisation)
    except ZeroDivisionError:
        pass
    monkeypatch.undo()
    post_new(client, customer.organisation)
    assert Ticket.objects.get().number == 1


def test_the_confirmation_page_is_the_customers_only(sign_in, customer, stranger):
    post_new(sign_in(customer), customer.organisation)
    ticket = Ticket.objects.get()
    assert sign_in(stranger).get(f"/{customer.organisation.slug}/support/{ticket.number}/created/").status_code == 404


def test_too_many_new_tickets_are_refused_with_429_and_nothing_is_written(settings, sign_in, customer):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "ticket_write": "1/5m/key"}
    client = sign_in(customer)
    assert post_new(client, customer.organisation).status_code == 302
    limited = post_new(client, customer.organisation, subject="One too many")
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["Wheelchair at the airport"]
    assert OutboxEmail.objects.count() == 2  # the first ticket's, to the customer and to the support address


def test_a_new_ticket_sent_twice_is_one_ticket_with_one_email(
    sign_in, customer, mailoutbox, django_capture_on_commit_callbacks
):
    client = sign_in(customer)
    page = client.get(f"/{customer.organisation.slug}/support/new/").content.decode()
    token = re.search(r'name="sent_once_token" value="([^"]+)"', page).group(1)
    form = {"subject": "Lost luggage", "priority": "high", "body": "Blue bag.", "sent_once_token": token}

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/{customer.organisation.slug}/support/new/", form)
        second = client.post(f"/{customer.organisation.slug}/support/new/", form)  # the double click

    assert first["Location"] == second["Location"]
    assert Ticket.objects.filter(requester=customer).count() == 1
    assert [email.to for email in mailoutbox].count([customer.email]) == 1
