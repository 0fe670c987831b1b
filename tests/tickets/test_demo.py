"""The portal home's "Support tickets" section, the nav, and tickets as an identity source."""

import io

from portal_auth.services import organisation_knows_email
from portal_core.sections import sections
from tests.factories import CustomerFactory
from tests.tickets.conftest import open_access_link
from tickets.demo import seed_demo
from tickets.models import Ticket, TicketMessage
from tickets.selectors import organisation_has_requester_email


def test_the_home_shows_the_three_most_recent_tickets(sign_in, customer, make_ticket, stranger):
    tickets = [make_ticket(subject=f"Question {i}") for i in range(5)]
    make_ticket(requester=stranger, subject="Not mine")
    page = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()
    assert "Support tickets" in page
    shown = [t.subject for t in tickets if t.subject in page]
    assert len(shown) == 3
    assert "Not mine" not in page
    assert f'href="/{customer.organisation.slug}/support/"' in page  # the nav and "All my tickets"


def test_the_home_costs_the_same_queries_with_1_or_30_tickets(
    sign_in, customer, make_ticket, django_assert_max_num_queries
):
    client = sign_in(customer)
    for count in (1, 30):
        while Ticket.objects.count() < count:
            make_ticket()
        with django_assert_max_num_queries(6):
            assert client.get(f"/{customer.organisation.slug}/").status_code == 200


def test_the_support_nav_item_is_current_on_support_pages(sign_in, customer):
    page = sign_in(customer).get(f"/{customer.organisation.slug}/support/").content.decode()
    assert f'<a href="/{customer.organisation.slug}/support/" aria-current="page">Support</a>' in page


def test_requesters_are_known_to_the_organisation(organisation, other_organisation, make_ticket):
    assert organisation_has_requester_email in [section.knows_email for section in sections()]
    ticket = make_ticket()
    assert organisation_has_requester_email(organisation, ticket.requester.email)
    assert not organisation_has_requester_email(other_organisation, ticket.requester.email)
    assert not organisation_has_requester_email(organisation, CustomerFactory(organisation=organisation).email)
    assert organisation_knows_email(organisation, ticket.requester.email)


def test_seed_demo_adds_tickets_with_internal_notes_and_prints_a_link_for_alice(organisation, staff_user):
    out = io.StringIO()
    seed_demo(organisation=organisation, stdout=out)
    assert set(Ticket.objects.values_list("requester__email", flat=True)) == {"alice@example.com", "bob@example.com"}
    assert TicketMessage.objects.filter(internal=True).exists()
    link = next(line.strip() for line in out.getvalue().splitlines() if "/support/portal/" in line)
    from django.test import Client

    response = open_access_link(Client(), link)
    assert response["Location"] == f"/{organisation.slug}/support/1/"
    again = io.StringIO()
    seed_demo(organisation=organisation, stdout=again)
    assert "exist already" in again.getvalue()
    assert Ticket.objects.count() == 3
