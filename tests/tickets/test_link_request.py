"""The ticket portal's refused-link page: a requester asks for a new link, with the same answer whoever asks."""

from django.test import Client

from portal_auth.models import AccessEvent, CustomerToken
from tests.conftest import link_in
from tests.factories import CustomerFactory
from tests.refusals import unmasked
from tests.tickets.conftest import events, open_access_link

REFUSED = "/{}/support/portal/new-link/"


def ask(client, organisation, email):
    return client.post(REFUSED.format(organisation.slug), {"email": email})


def test_a_requester_gets_a_new_link_to_their_tickets(client, ticket, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, ticket.organisation, f"  {ticket.requester.email.upper()} ")

    assert response.status_code == 302
    assert response["Location"] == f"/{ticket.organisation.slug}/support/portal/new-link/sent/"
    sent = client.get(response["Location"]).content.decode()
    assert "Check your email" in sent and ticket.requester.email in sent
    [email] = mailoutbox
    assert email.to == [ticket.requester.email]
    link = link_in(email.body, "/support/portal/")
    token = CustomerToken.objects.get(customer=ticket.requester)
    assert (token.created_by, token.next_path) == (None, f"/{ticket.organisation.slug}/support/")
    opened = open_access_link(Client(), link)
    assert opened["Location"] == f"/{ticket.organisation.slug}/support/"
    assert [e.token for e in events(AccessEvent.Kind.ACCESS_LINK_SENT)] == [token]


def test_unknown_emails_and_customers_without_tickets_get_the_same_answer_and_no_email(
    ticket, mailoutbox, django_capture_on_commit_callbacks
):
    without_tickets = CustomerFactory(organisation=ticket.organisation)
    answers = []
    for email in ("nobody@example.com", without_tickets.email, ticket.requester.email):
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            response = ask(client, ticket.organisation, email)
        page = unmasked(client.get(response["Location"]).content.decode()).replace(email, "EMAIL")
        answers.append((response.status_code, response["Location"], page))
    assert answers[0] == answers[1] == answers[2]
    assert [m.to for m in mailoutbox] == [[ticket.requester.email]]


def test_another_organisations_customer_gets_no_link(
    client, ticket, other_organisation, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, other_organisation, ticket.requester.email)
    assert response.status_code == 302
    assert mailoutbox == []
    assert not CustomerToken.objects.exists()


def test_asking_is_rate_limited_per_email(client, settings, ticket, mailoutbox, django_capture_on_commit_callbacks):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "access_link_request": "10/h/ip,2/h/key"}
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert ask(Client(), ticket.organisation, ticket.requester.email).status_code == 302
        limited = ask(Client(), ticket.organisation, ticket.requester.email)
    assert limited.status_code == 429
    assert limited["Retry-After"]
    assert len(mailoutbox) == 2
