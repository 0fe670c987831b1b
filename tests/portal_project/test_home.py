"""The portal home (portal_project/views.py): each section's most recent items, only the customer's own."""

from datetime import timedelta

from django.utils import timezone

from tests.conversations.factories import ConversationFactory
from tests.factories import CustomerFactory
from tests.tickets.factories import CompanyFactory, TicketSettingsFactory
from tickets.models import Ticket, TicketSettings


def test_signed_in_home(sign_in, customer):
    client = sign_in(customer)
    response = client.get(f"/{customer.organisation.slug}/")
    assert response.status_code == 200
    assert customer.email in response.content.decode()


def test_the_customers_name_is_isolated_from_the_greeting_around_it(sign_in, customer):
    # A name from before invisible formatting was refused: it can't reorder the text beside it.
    customer.name = "\u202eAna"
    customer.save()

    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert "<h1>Welcome, <bdi>\u202eAna</bdi></h1>" in html


def test_home_shows_the_three_most_recent_conversations(sign_in, customer, other_customer):
    now = timezone.now()
    for days, subject in enumerate(["Newest", "Second", "Third", "Fourth"]):
        ConversationFactory(customer=customer, subject=subject, last_activity_at=now - timedelta(days=days))
    ConversationFactory(customer=other_customer, subject="Someone else's")

    html = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()

    assert 'id="home-conversations-heading"' in html
    assert html.index("Newest") < html.index("Second") < html.index("Third")
    assert "Fourth" not in html and "Someone else" not in html
    assert f'href="/{customer.organisation.slug}/conversations/"' in html


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


def test_the_home_page_stays_out_of_the_browsers_cache(sign_in, customer):
    """After signing out, the back button must not show what the home page listed."""
    response = sign_in(customer).get(f"/{customer.organisation.slug}/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_home_with_a_companys_tickets_stays_within_six_queries(
    sign_in, customer, make_ticket, django_assert_max_num_queries
):
    TicketSettingsFactory(
        organisation=customer.organisation, customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    )
    colleague = CustomerFactory(organisation=customer.organisation, name="Colleague Who Asked")
    company = CompanyFactory(organisation=customer.organisation, members=[customer, colleague])
    make_ticket(requester=colleague, company=company, subject="The colleague's question")
    ConversationFactory(organisation=customer.organisation, customer=customer)
    client = sign_in(customer)

    with django_assert_max_num_queries(6):
        page = client.get(f"/{customer.organisation.slug}/").content.decode()
    assert "The colleague&#39;s question" in page and "opened by Colleague Who Asked" in page
