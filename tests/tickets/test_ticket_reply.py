"""A customer's reply: added to the conversation, reopens a solved ticket, never lands on a closed one."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from outbox.models import OutboxEmail
from portal_core import uploads
from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused
from tests.tickets.conftest import PDF_BYTES, PNG_BYTES
from tests.tickets.factories import CompanyFactory
from tickets.forms import ReplyForm
from tickets.models import Ticket, TicketAttachment, TicketMessage, TicketSettings
from tickets.services import ticket_reply


def reply_url(ticket):
    return f"/{ticket.organisation.slug}/support/{ticket.number}/reply/"


def reply(client, ticket, body="Thanks, here is more detail.", files=()):
    return client.post(reply_url(ticket), {"body": body, "attachments": list(files)})


def test_a_reply_is_added_and_the_agent_is_emailed(
    sign_in, customer, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    agent = get_user_model().objects.create(username="agent", email="agent@voyages.example", is_staff=True)
    Ticket.objects.filter(pk=ticket.pk).update(assigned_agent=agent)
    before = timezone.now()
    client = sign_in(customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = reply(client, ticket, "My bag is blue.")

    assert response.status_code == 302
    assert response["Location"] == f"/{ticket.organisation.slug}/support/{ticket.number}/#latest"
    message = TicketMessage.objects.get(ticket=ticket)
    assert (message.author_customer, message.author_staff, message.internal, message.body) == (
        customer,
        None,
        False,
        "My bag is blue.",
    )
    ticket.refresh_from_db()
    assert ticket.updated_at >= before
    [email] = mailoutbox
    assert email.to == ["agent@voyages.example"]
    assert "My bag is blue." in email.body
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in email.body
    page = client.get(response["Location"]).content.decode()
    assert "My bag is blue." in page and "Your reply has been added." in page


def test_without_an_agent_the_organisations_support_address_is_emailed(
    sign_in, customer, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply(sign_in(customer), ticket)
    assert [m.to for m in mailoutbox] == [[ticket.organisation.support_email]]


def test_a_reply_on_the_ticket_of_an_agent_who_left_goes_to_the_support_address(
    sign_in, customer, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    agent = get_user_model().objects.create(username="gone", email="gone@voyages.example", is_staff=True)
    agent.is_active = False
    agent.save()
    Ticket.objects.filter(pk=ticket.pk).update(assigned_agent=agent)

    with django_capture_on_commit_callbacks(execute=True):
        reply(sign_in(customer), ticket, "Anyone there?")

    [email] = mailoutbox
    assert email.to == [ticket.organisation.support_email] and email.to != ["gone@voyages.example"]


@pytest.mark.parametrize("status", [Ticket.Status.SOLVED, Ticket.Status.PENDING])
def test_a_reply_to_a_solved_or_pending_ticket_reopens_it(sign_in, customer, make_ticket, status):
    ticket = make_ticket(status=status)
    reply(sign_in(customer), ticket)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_a_reply_leaves_a_new_ticket_new(sign_in, customer, make_ticket):
    ticket = make_ticket(status=Ticket.Status.NEW)
    reply(sign_in(customer), ticket)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW


def test_a_reply_keeps_a_status_staff_set_while_it_was_written(customer, make_ticket):
    ticket = make_ticket(status=Ticket.Status.NEW)  # as the page read it
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.OPEN)  # staff, while the reply was checked

    ticket_reply(ticket=ticket, customer=customer, body="Any news?")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_a_closed_ticket_is_read_only(sign_in, customer, make_ticket, mailoutbox, django_capture_on_commit_callbacks):
    ticket = make_ticket(status=Ticket.Status.CLOSED)
    client = sign_in(customer)
    page = client.get(f"/{ticket.organisation.slug}/support/{ticket.number}/").content.decode()
    assert "This ticket is closed" in page
    assert reply_url(ticket) not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = reply(client, ticket)

    assert response.status_code == 409
    assert "This ticket is closed, so it can&#39;t take replies." in response.content.decode()
    assert not TicketMessage.objects.exists()
    assert mailoutbox == []
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED


def test_replies_come_with_attachments(sign_in, customer, ticket):
    files = [
        SimpleUploadedFile("boarding-pass.pdf", PDF_BYTES, content_type="application/pdf"),
        SimpleUploadedFile("bag.png", PNG_BYTES, content_type="image/png"),
    ]
    reply(sign_in(customer), ticket, files=files)
    attachments = TicketAttachment.objects.order_by("pk")
    assert [(a.original_name, a.content_type, a.size) for a in attachments] == [
        ("boarding-pass.pdf", "application/pdf", len(PDF_BYTES)),
        ("bag.png", "image/png", len(PNG_BYTES)),
    ]
    assert attachments[0].file.read() == PDF_BYTES


@pytest.mark.parametrize(
    "upload, error",
    [
        (SimpleUploadedFile("setup.pdf", b"MZ\x90\x00\x03\x00" * 20), "is not a file we accept"),
        (SimpleUploadedFile("photo.pdf", PNG_BYTES), "contains a PNG but its name says otherwise"),
        (SimpleUploadedFile("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"), "not a file we accept"),
        (SimpleUploadedFile("empty.pdf", b""), "“empty.pdf” is empty."),
    ],
)
def test_a_bad_attachment_is_refused_and_nothing_is_written(sign_in, customer, ticket, upload, error, settings):
    good = SimpleUploadedFile("fine.pdf", PDF_BYTES)
    response = reply(sign_in(customer), ticket, files=[good, upload])
    assert response.status_code == 400
    assert error in response.content.decode().replace("&#39;", "'")
    assert not TicketMessage.objects.exists()
    assert not TicketAttachment.objects.exists()
    assert not OutboxEmail.objects.exists()


def test_too_big_or_too_many_attachments_are_refused(sign_in, customer, ticket, monkeypatch):
    monkeypatch.setattr(ReplyForm.base_fields["attachments"], "max_size", 100)
    client = sign_in(customer)
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 200)
    assert (
        "“big.pdf” is larger than 100\xa0bytes, the most one file may be."
        in reply(client, ticket, files=[big]).content.decode()
    )
    many = [SimpleUploadedFile(f"f{i}.pdf", PDF_BYTES) for i in range(6)]
    assert "You chose 6 files; attach at most 5 to one message." in reply(client, ticket, files=many).content.decode()
    assert not TicketMessage.objects.exists()


def test_an_empty_reply_is_refused(sign_in, customer, ticket):
    response = reply(sign_in(customer), ticket, body="   ")
    assert response.status_code == 400
    assert "Write your reply." in response.content.decode()
    assert not TicketMessage.objects.exists()


def test_replying_to_someone_elses_ticket_is_404(sign_in, stranger, ticket):
    assert reply(sign_in(stranger), ticket).status_code == 404
    assert not TicketMessage.objects.exists()


def test_a_reply_needs_post_and_a_csrf_token(sign_in, customer, ticket):
    from django.test import Client

    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    assert (
        client.get(reply_url(ticket))["Location"] == f"/{ticket.organisation.slug}/support/{ticket.number}/#reply-form"
    )
    assert reply(client, ticket).status_code == 403
    assert not TicketMessage.objects.exists()


def test_files_written_before_a_failure_are_removed(sign_in, customer, ticket, monkeypatch, settings):
    from pathlib import Path

    def fail(*args, **kwargs):
        raise RuntimeError("mail template broken")

    monkeypatch.setattr("tickets.services._notify_staff", fail)
    with pytest.raises(RuntimeError):
        reply(sign_in(customer), ticket, files=[SimpleUploadedFile("a.pdf", PDF_BYTES)])
    assert not TicketMessage.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_writing_to_support_is_rate_limited_per_customer(
    settings,
    sign_in,
    customer,
    ticket,
    stranger,
    make_ticket,
    mailoutbox,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "ticket_write": "2/5m/key"}
    client = sign_in(customer)
    new_ticket = {"subject": "Another question", "priority": "low", "body": "Is breakfast included?"}
    with django_capture_on_commit_callbacks(execute=True):
        assert reply(client, ticket).status_code == 302
        # A new ticket counts against the same limit as a reply.
        assert client.post(f"/{ticket.organisation.slug}/support/new/", new_ticket).status_code == 302
        inspected = []
        real = uploads.validate_upload
        monkeypatch.setattr(uploads, "validate_upload", lambda *a, **k: inspected.append(a) or real(*a, **k))
        limited = reply(client, ticket, body="A third message too many", files=[SimpleUploadedFile("a.pdf", PDF_BYTES)])

    assert limited.status_code == 429
    assert inspected == []  # refused before any attached file was looked into
    assert int(limited["Retry-After"]) > 0
    assert "Too many attempts" in limited.content.decode()
    assert not TicketMessage.objects.filter(body="A third message too many").exists()
    assert TicketMessage.objects.filter(author_customer=customer).count() == 2
    assert len(mailoutbox) == 3  # the reply to staff; the new ticket to the customer and to staff
    # The limit is the customer's: another customer writing from the same address is not held back.
    assert reply(sign_in(stranger), make_ticket(requester=stranger)).status_code == 302


def test_a_reply_to_someone_elses_ticket_is_a_refused_look(sign_in, stranger, ticket):
    response = sign_in(stranger).post(reply_url(ticket), {"body": "Let me in"}, HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=stranger, what=f"ticket {ticket.number}", hidden=ticket.subject)
    assert not TicketMessage.objects.exists()


def test_a_reply_sent_twice_is_one_reply(sign_in, customer, ticket):
    client = sign_in(customer)
    page = client.get(f"/{ticket.organisation.slug}/support/{ticket.number}/").content.decode()
    token = re.search(r'name="sent_once_token" value="([^"]+)"', page).group(1)

    for _ in range(2):
        assert client.post(reply_url(ticket), {"body": "Here it is.", "sent_once_token": token}).status_code == 302

    assert TicketMessage.objects.filter(ticket=ticket, body="Here it is.").count() == 1
    # Another sending (a new page) of the same words is another reply.
    page = client.get(f"/{ticket.organisation.slug}/support/{ticket.number}/").content.decode()
    other = re.search(r'name="sent_once_token" value="([^"]+)"', page).group(1)
    client.post(reply_url(ticket), {"body": "Here it is.", "sent_once_token": other})
    assert TicketMessage.objects.filter(ticket=ticket, body="Here it is.").count() == 2


def test_two_views_of_a_kept_ticket_page_are_two_sendings(sign_in, customer, ticket):
    client = sign_in(customer)
    page = f"/{ticket.organisation.slug}/support/{ticket.number}/"
    first = client.get(page)
    second = client.get(page)
    assert second.context is None  # the kept page

    tokens = [
        re.search(r'name="sent_once_token" value="([^"]+)"', r.content.decode()).group(1) for r in (first, second)
    ]

    assert tokens[0] != tokens[1]
    for token in tokens:
        client.post(reply_url(ticket), {"body": "Same words, twice meant.", "sent_once_token": token})
    assert TicketMessage.objects.filter(ticket=ticket, body="Same words, twice meant.").count() == 2


def test_staff_hear_who_replied_when_a_colleague_of_the_requester_did(
    sign_in, customer, organisation, make_ticket, ticket_settings, mailoutbox, django_capture_on_commit_callbacks
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    colleague = CustomerFactory(organisation=organisation, email="bob@example.com")
    company = CompanyFactory(organisation=organisation, members=[customer, colleague])
    ticket = make_ticket(requester=customer, company=company)

    with django_capture_on_commit_callbacks(execute=True):
        reply(sign_in(colleague), ticket, "I'm Ana's colleague.")

    [email] = mailoutbox
    assert email.subject.startswith(f"[#{ticket.number}] bob@example.com replied:")


def staff_meanwhile(monkeypatch, service_name, change):
    """Staff `change` the ticket after the page checked it, while the customer's post is still being handled."""
    from tickets import views

    real = getattr(views, service_name)

    def later(**kwargs):
        change(kwargs["ticket"])
        return real(**kwargs)

    monkeypatch.setattr(views, service_name, later)


def test_a_reply_to_a_ticket_deleted_while_it_was_checked_is_404_and_writes_nothing(
    sign_in, customer, ticket, monkeypatch, settings, mailoutbox, django_capture_on_commit_callbacks
):
    from pathlib import Path

    staff_meanwhile(monkeypatch, "ticket_reply", lambda t: Ticket.objects.filter(pk=t.pk).delete())

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(customer).post(
            reply_url(ticket),
            {"body": "Too late?", "attachments": [SimpleUploadedFile("a.pdf", PDF_BYTES)]},
            HTTP_USER_AGENT=USER_AGENT,
        )

    assert_look_refused(response, customer=customer, what=f"ticket {ticket.number}")
    assert not TicketMessage.objects.exists() and not TicketAttachment.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert mailoutbox == []


def test_a_reply_to_a_ticket_moved_to_another_requester_meanwhile_is_404_and_writes_nothing(
    sign_in, customer, stranger, ticket, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    staff_meanwhile(monkeypatch, "ticket_reply", lambda t: Ticket.objects.filter(pk=t.pk).update(requester=stranger))
    client = sign_in(customer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reply_url(ticket), {"body": "My passport number"}, HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=customer, what=f"ticket {ticket.number}")
    assert not TicketMessage.objects.exists()
    assert mailoutbox == []
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_a_reply_to_a_ticket_moved_out_of_the_customers_company_meanwhile_is_404(
    sign_in, customer, organisation, stranger, make_ticket, ticket_settings, monkeypatch
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    ours, theirs = (
        CompanyFactory(organisation=organisation, members=[customer, stranger]),
        CompanyFactory(organisation=organisation),
    )
    ticket = make_ticket(requester=stranger, company=ours)
    staff_meanwhile(monkeypatch, "ticket_reply", lambda t: Ticket.objects.filter(pk=t.pk).update(company=theirs))

    assert reply(sign_in(customer), ticket).status_code == 404
    assert not TicketMessage.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: Ticket.objects.filter(pk=t.pk).delete(), id="deleted"),
        pytest.param(
            lambda t: Ticket.objects.filter(pk=t.pk).update(requester=CustomerFactory(organisation=t.organisation)),
            id="moved",
        ),
    ],
)
def test_marking_solved_a_ticket_staff_deleted_or_moved_meanwhile_is_404_and_writes_nothing(
    sign_in, customer, ticket, monkeypatch, change, mailoutbox, django_capture_on_commit_callbacks
):
    staff_meanwhile(monkeypatch, "ticket_mark_solved", change)

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(customer).post(
            f"/{ticket.organisation.slug}/support/{ticket.number}/solve/", HTTP_USER_AGENT=USER_AGENT
        )

    assert_look_refused(response, customer=customer, what=f"ticket {ticket.number}")
    assert not TicketMessage.objects.exists()
    assert not Ticket.objects.filter(status=Ticket.Status.SOLVED).exists()
    assert mailoutbox == []
