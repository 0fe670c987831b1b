"""My tickets: only the customer's own (and their company's where allowed), filtered, searched, paginated."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory
from tickets.models import Ticket, TicketSettings
from tickets.selectors import tickets_for


def numbers_on(response):
    return [int(n) for n in re.findall(r'class="ticket-number">#(\d+)<', response.content.decode())]


def url(organisation, **query):
    from urllib.parse import urlencode

    return f"/{organisation.slug}/support/" + (f"?{urlencode(query)}" if query else "")


def test_the_list_needs_a_signed_in_customer(client, organisation):
    response = client.get(url(organisation))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{organisation.slug}/sign-in/")


def test_the_list_shows_the_customers_tickets_newest_activity_first(
    sign_in, customer, make_ticket, stranger, other_organisation
):
    now = timezone.now()
    old = make_ticket(subject="Old question", updated_at=now - timedelta(days=9))
    recent = make_ticket(subject="Recent question", updated_at=now - timedelta(hours=1))
    closed = make_ticket(subject="Closed question", status=Ticket.Status.CLOSED, updated_at=now - timedelta(days=2))
    make_ticket(requester=stranger, subject="Someone else's")
    make_ticket(organisation=other_organisation, subject="Other organisation's")

    response = sign_in(customer).get(url(customer.organisation))

    assert response.status_code == 200
    assert numbers_on(response) == [recent.number, closed.number, old.number]
    page = response.content.decode()
    assert "Someone else" not in page and "Other organisation" not in page
    assert "Closed" in page
    assert "3 tickets." in page


def test_no_tickets_yet(sign_in, customer):
    page = sign_in(customer).get(url(customer.organisation)).content.decode()
    assert "You have no support tickets yet." in page


@pytest.mark.parametrize("status", ["new", "open", "pending", "solved", "closed"])
def test_filter_by_status(sign_in, customer, make_ticket, status):
    tickets = {s: make_ticket(status=s) for s in Ticket.Status.values}
    response = sign_in(customer).get(url(customer.organisation, status=status))
    assert numbers_on(response) == [tickets[status].number]


def test_an_unknown_status_is_ignored(sign_in, customer, make_ticket):
    ticket = make_ticket()
    response = sign_in(customer).get(url(customer.organisation, status="bogus"))
    assert response.status_code == 200
    assert numbers_on(response) == [ticket.number]


def test_a_bad_filter_value_is_ignored_alone(sign_in, customer, make_ticket):
    printer = make_ticket(subject="Printer jammed", status="open")
    make_ticket(subject="Lost luggage", status="open")
    solved = make_ticket(subject="Printer ink", status="solved")
    client = sign_in(customer)

    kept_search = client.get(url(customer.organisation, status="Open", q="printer"))  # an old link's status
    kept_status = client.get(url(customer.organisation, status="solved", q="x" * 201))  # more than the box takes

    assert sorted(numbers_on(kept_search)) == sorted([printer.number, solved.number])
    assert numbers_on(kept_status) == [solved.number]


def test_search_by_subject_number_or_hash_number(sign_in, customer, make_ticket):
    lisbon = make_ticket(subject="Lost luggage in Lisbon")
    porto = make_ticket(subject="Refund for Porto")
    client = sign_in(customer)
    organisation = customer.organisation

    assert numbers_on(client.get(url(organisation, q="luggage"))) == [lisbon.number]
    assert numbers_on(client.get(url(organisation, q="LISBON"))) == [lisbon.number]
    assert numbers_on(client.get(url(organisation, q=str(porto.number)))) == [porto.number]
    assert numbers_on(client.get(url(organisation, q=f"#{porto.number}"))) == [porto.number]
    no_match = client.get(url(organisation, q="Madrid")).content.decode()
    assert "No tickets match these filters." in no_match


@pytest.mark.parametrize("query", ["³", "#²", "٣", "１２"])
def test_a_search_for_digits_of_other_scripts_finds_by_subject_and_never_fails(sign_in, customer, make_ticket, query):
    make_ticket(subject="Lost luggage in Lisbon")

    response = sign_in(customer).get(url(customer.organisation, q=query))

    assert response.status_code == 200
    assert "No tickets match these filters." in response.content.decode()


def test_search_never_finds_another_customers_ticket_by_number(sign_in, customer, make_ticket, stranger):
    theirs = make_ticket(requester=stranger, subject="Private matter")
    response = sign_in(customer).get(url(customer.organisation, q=str(theirs.number)))
    assert numbers_on(response) == []
    assert "Private matter" not in response.content.decode()


@pytest.mark.parametrize("query", ["GGAGE iN lIS", "lost luggage in lisbon", "  Luggage  ", "n L"])
def test_search_finds_any_part_of_the_subject_in_any_case(sign_in, customer, make_ticket, query):
    lisbon = make_ticket(subject="Lost luggage in Lisbon")
    make_ticket(subject="Refund for Porto")
    response = sign_in(customer).get(url(customer.organisation, q=query))
    assert numbers_on(response) == [lisbon.number]


@pytest.mark.parametrize(
    ("query", "found"), [("100%", ["Refund 100% please"]), ("_", ["Order_42"]), ("%", ["Refund 100% please"])]
)
def test_search_takes_wildcards_as_the_characters_typed(sign_in, customer, make_ticket, query, found):
    for subject in ("Refund 100% please", "Order_42", "Plain subject"):
        make_ticket(subject=subject)
    response = sign_in(customer).get(url(customer.organisation, q=query))
    assert [ticket.subject for ticket in Ticket.objects.filter(number__in=numbers_on(response))] == found


def test_search_finds_a_subject_by_its_new_words_once_staff_edit_it(sign_in, customer, make_ticket):
    ticket = make_ticket(subject="Lost luggage")
    ticket.subject = "Damaged suitcase"
    ticket.save()
    client = sign_in(customer)
    assert numbers_on(client.get(url(customer.organisation, q="suitcase"))) == [ticket.number]
    assert numbers_on(client.get(url(customer.organisation, q="luggage"))) == []


def test_search_compares_the_subject_upper_cased_when_written_not_for_each_ticket_read(sign_in, customer, make_ticket):
    make_ticket(subject="Lost luggage in Lisbon")
    client = sign_in(customer)
    with CaptureQueriesContext(connection) as queries:
        client.get(url(customer.organisation, q="luggage"))
    searches = [query["sql"] for query in queries.captured_queries if "LIKE" in query["sql"]]
    assert searches and all("subject_folded" in sql for sql in searches)
    assert not any('UPPER("tickets_ticket"."subject"' in sql for sql in searches)


def test_search_finds_a_company_ticket_by_subject_and_number_and_nothing_outside(
    sign_in, customer, make_ticket, make_company, ticket_settings, organisation, other_organisation, stranger
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    colleague = CustomerFactory(organisation=organisation)
    company = make_company(organisation=organisation, members=[customer, colleague])
    theirs = make_ticket(requester=colleague, company=company, subject="Company invoice overdue")
    # Alike in subject, and one in number, but none the customer's to see.
    other_company = make_company(organisation=organisation, members=[stranger])
    make_ticket(requester=stranger, company=other_company, subject="Stranger's company invoice overdue")
    make_ticket(requester=stranger, subject="Stranger's invoice overdue")
    elsewhere = make_ticket(organisation=other_organisation, subject="Other organisation's invoice overdue")
    assert elsewhere.number == 1 and theirs.number == 1
    client = sign_in(customer)

    for query in ("INVOICE OVERDUE", "voice over", str(theirs.number), f"#{theirs.number}"):
        response = client.get(url(customer.organisation, q=query))
        assert numbers_on(response) == [theirs.number], query
        page = response.content.decode()
        assert "Stranger" not in page and "Other organisation" not in page, query


def test_search_and_status_combine(sign_in, customer, make_ticket):
    make_ticket(subject="Refund please", status=Ticket.Status.OPEN)
    solved = make_ticket(subject="Refund received", status=Ticket.Status.SOLVED)
    make_ticket(subject="Other", status=Ticket.Status.SOLVED)
    response = sign_in(customer).get(url(customer.organisation, status="solved", q="refund"))
    assert numbers_on(response) == [solved.number]


def test_pages_of_twenty_keep_the_filters(sign_in, customer, make_ticket):
    for _ in range(23):
        make_ticket(status=Ticket.Status.OPEN)
    make_ticket(status=Ticket.Status.CLOSED)
    client = sign_in(customer)
    first = client.get(url(customer.organisation, status="open"))
    assert len(numbers_on(first)) == 20
    assert "?status=open&amp;page=2" in first.content.decode()
    second = client.get(url(customer.organisation, status="open", page=2))
    assert len(numbers_on(second)) == 3
    assert "Page 2 of 2" in second.content.decode()
    assert client.get(url(customer.organisation, page="nonsense")).status_code == 200


class TestCompanyTickets:
    @pytest.fixture
    def colleague_ticket(self, organisation, customer, make_ticket, make_company):
        colleague = CustomerFactory(organisation=organisation)
        company = make_company(organisation=organisation, members=[customer, colleague])
        return make_ticket(requester=colleague, company=company, subject="Company invoice")

    def test_hidden_when_the_organisation_shows_customers_their_own_tickets_only(
        self, sign_in, customer, colleague_ticket, ticket_settings
    ):
        assert ticket_settings.customer_access == TicketSettings.CustomerAccess.CONTACT
        client = sign_in(customer)
        assert numbers_on(client.get(url(customer.organisation))) == []
        assert client.get(f"/{customer.organisation.slug}/support/{colleague_ticket.number}/").status_code == 404

    def test_hidden_without_ticket_settings(self, sign_in, customer, colleague_ticket):
        assert numbers_on(sign_in(customer).get(url(customer.organisation))) == []

    def test_shown_to_every_member_under_contact_or_company(
        self, sign_in, customer, colleague_ticket, ticket_settings, stranger
    ):
        ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
        ticket_settings.save()
        client = sign_in(customer)
        response = client.get(url(customer.organisation))
        assert numbers_on(response) == [colleague_ticket.number]
        assert "opened by" in response.content.decode()
        assert client.get(f"/{customer.organisation.slug}/support/{colleague_ticket.number}/").status_code == 200
        # Not a member: still nothing.
        assert numbers_on(sign_in(stranger).get(url(customer.organisation))) == []

    def test_filters_matching_none_of_the_company_tickets_say_so(
        self, sign_in, customer, colleague_ticket, ticket_settings, make_ticket
    ):
        ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
        ticket_settings.save()
        make_ticket(subject="My own question", status=Ticket.Status.OPEN)
        client = sign_in(customer)

        for query in ({"q": "Madrid"}, {"status": "closed"}, {"status": "solved", "q": "invoice"}):
            response = client.get(url(customer.organisation, **query))
            assert response.status_code == 200
            assert "No tickets match these filters." in response.content.decode()
        assert numbers_on(client.get(url(customer.organisation, q="invoice"))) == [colleague_ticket.number]

    def test_own_ticket_of_a_company_is_listed_once(
        self, customer, make_ticket, make_company, ticket_settings, organisation
    ):
        ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
        ticket_settings.save()
        company = make_company(
            organisation=organisation, members=[customer, *CustomerFactory.create_batch(3, organisation=organisation)]
        )
        own = make_ticket(company=company)
        assert [ticket.pk for ticket in tickets_for(customer)[0:10]] == [own.pk]


def test_the_list_costs_the_same_queries_with_3_or_60_tickets(
    sign_in, customer, make_ticket, make_company, ticket_settings, django_assert_max_num_queries
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    company = make_company(organisation=customer.organisation, members=[customer])
    client = sign_in(customer)
    for count in (3, 60):
        while Ticket.objects.count() < count:
            colleague = CustomerFactory(organisation=customer.organisation)
            company.members.add(colleague)
            make_ticket(requester=colleague, company=company)
        with django_assert_max_num_queries(4):
            response = client.get(url(customer.organisation, q="question"))
        assert len(numbers_on(response)) == min(count, 20)


CUSTOMER_WORDS = {
    "new": "Received — we'll be with you soon",
    "open": "Open — we're on it",
    "pending": "Waiting for your reply",
    "solved": "Solved — reply to reopen",
    "closed": "Closed",
}


def test_each_status_reads_in_customer_words_in_the_list_and_its_filter(sign_in, customer, make_ticket):
    for status in Ticket.Status.values:
        make_ticket(status=status, subject=f"About {status}")

    # Unescaped: the badge (the page's template) and the <option> (the form's widget) escape apostrophes differently.
    page = html.unescape(sign_in(customer).get(url(customer.organisation)).content.decode())

    for status, words in CUSTOMER_WORDS.items():
        assert re.search(rf'badge-status-{status}">{re.escape(words)}</span>', page), status
        assert f'<option value="{status}">{words}</option>' in page
    assert "Pending" not in page


def test_the_home_shows_ticket_statuses_in_customer_words(sign_in, customer, make_ticket):
    make_ticket(status=Ticket.Status.PENDING)
    page = sign_in(customer).get(f"/{customer.organisation.slug}/").content.decode()
    assert "Waiting for your reply" in page
    assert "Pending" not in page


def test_staff_keep_the_staff_words_in_the_admin(admin_client, make_ticket):
    make_ticket(status=Ticket.Status.PENDING)
    page = admin_client.get("/admin/tickets/ticket/").content.decode()
    assert "Pending" in page
    assert "Waiting for your reply" not in page
