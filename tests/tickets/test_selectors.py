"""tickets_for reads the visible tickets in parts; it must list exactly what the one-query rule does, in its order."""

import itertools
from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from tests.factories import CustomerFactory
from tests.tickets.factories import CompanyFactory, TicketFactory, TicketSettingsFactory
from tickets.models import Ticket, TicketSettings
from tickets.selectors import _matching, tickets_for, visible_tickets

STATUSES = [None, *Ticket.Status.values]


def listed_as_one_query(customer, *, status=None, query=None):
    """The list as it was read before it was read in parts: the access rule as one OR, filtered, sorted."""
    tickets = visible_tickets(customer)
    if status:
        tickets = tickets.filter(status=status)
    if query and query.strip():
        tickets = _matching(tickets, query)
    return tickets.select_related("requester").order_by("-updated_at", "-pk")


@pytest.fixture
def varied_tickets(organisation, other_organisation, customer):
    """Tickets of every kind a list must take or leave, many sharing an update time so the order's tie-break counts.

    The customer belongs to two companies (one colleague has no name, so their email labels their tickets) and
    not to a third; some of their own tickets are of a company too; strangers' and another organisation's
    tickets (one of them naming the customer's company, one the customer) must never be listed.
    """
    colleague = CustomerFactory(organisation=organisation, name="Colleague Named")
    unnamed = CustomerFactory(organisation=organisation, name="", email="unnamed@example.com")
    outsider = CustomerFactory(organisation=organisation)
    first = CompanyFactory(organisation=organisation, members=[customer, colleague])
    second = CompanyFactory(organisation=organisation, members=[customer, unnamed])
    theirs = CompanyFactory(organisation=organisation, members=[outsider])
    foreign = CustomerFactory(organisation=other_organisation)

    now = timezone.now()
    times = [now - timedelta(hours=hours) for hours in (0, 0, 1, 5, 5, 5, 30)]
    subjects = ["Refund for Porto", "Lost luggage in Lisbon", "Invoice 2024", "refund REQUEST", "Password"]
    owners = [
        (customer, None),
        (customer, first),
        (customer, second),
        (colleague, first),
        (unnamed, second),
        (colleague, None),
        (outsider, theirs),
        (outsider, None),
    ]
    kinds = itertools.product(owners, Ticket.Status.values)
    for index, ((requester, company), status) in enumerate(kinds):
        TicketFactory(
            organisation=organisation,
            requester=requester,
            company=company,
            status=status,
            subject=subjects[index % len(subjects)],
            updated_at=times[index % len(times)],
        )
    TicketFactory(organisation=other_organisation, requester=foreign, company=first, subject="Refund elsewhere")
    TicketFactory(organisation=other_organisation, requester=customer, subject="Refund, wrong organisation")
    return Ticket.objects.filter(organisation=organisation)


def queries_for(tickets):
    numbers = list(tickets.values_list("number", flat=True)[:2])
    return [None, "   ", "refund", "REFUND", "luggage lisbon", "porto", "nothing at all", "³", "１２"] + [
        form for number in numbers for form in (str(number), f" # {number} ")
    ]


@pytest.mark.parametrize(
    "access", [TicketSettings.CustomerAccess.CONTACT_OR_COMPANY, TicketSettings.CustomerAccess.CONTACT, None]
)
def test_the_list_holds_the_same_tickets_in_the_same_order_as_the_one_query_rule(
    organisation, customer, varied_tickets, access
):
    if access:
        TicketSettingsFactory(organisation=organisation, customer_access=access)
    # Their own 15 (of which 10 of a company), and where companies' tickets are shared, their colleagues' 10.
    assert tickets_for(customer).count() == (25 if access == TicketSettings.CustomerAccess.CONTACT_OR_COMPANY else 15)
    for status, query in itertools.product(STATUSES, queries_for(varied_tickets)):
        expected = list(listed_as_one_query(customer, status=status, query=query))
        listed = tickets_for(customer, status=status, query=query)

        assert listed.count() == len(expected), (status, query)
        whole = listed[0 : len(expected)]  # as a Paginator asks: [0:0] when nothing matches
        assert [ticket.pk for ticket in whole] == [ticket.pk for ticket in expected], (status, query)
        assert [ticket.requester_label for ticket in whole] == [
            ticket.requester.name or ticket.requester.email for ticket in expected
        ]


@pytest.mark.parametrize("per_page", [1, 3, 7])
def test_every_page_and_window_of_the_list_matches_the_one_query_rule(
    organisation, customer, varied_tickets, ticket_settings, per_page
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    for status in (None, Ticket.Status.OPEN):
        expected = Paginator(listed_as_one_query(customer, status=status), per_page)
        listed = Paginator(tickets_for(customer, status=status), per_page)

        assert listed.count == expected.count and listed.num_pages == expected.num_pages
        for number in expected.page_range:
            assert [t.pk for t in listed.page(number)] == [t.pk for t in expected.page(number)], (status, number)
    everything = list(listed_as_one_query(customer))
    for start, stop in [(0, 1), (2, 7), (5, 6), (len(everything) - 2, len(everything) + 10), (500, 520)]:
        assert [t.pk for t in tickets_for(customer)[start:stop]] == [t.pk for t in everything[start:stop]]


def test_a_ticket_of_the_customers_own_company_is_listed_once(customer, organisation, ticket_settings):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    company = CompanyFactory(organisation=organisation, members=[customer])
    own = TicketFactory(organisation=organisation, requester=customer, company=company)

    listed = tickets_for(customer)

    assert listed.count() == 1
    assert [ticket.pk for ticket in listed[0:10]] == [own.pk]


def test_a_count_and_a_window_take_a_query_each_however_many_companies(
    customer, organisation, ticket_settings, django_assert_num_queries
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    for _ in range(4):
        colleague = CustomerFactory(organisation=organisation)
        company = CompanyFactory(organisation=organisation, members=[customer, colleague])
        TicketFactory.create_batch(3, organisation=organisation, requester=colleague, company=company)
    TicketFactory.create_batch(2, organisation=organisation, requester=customer)

    with django_assert_num_queries(2):
        listed = tickets_for(customer)
        assert listed.count() == 14
        assert len(listed[0:20]) == 14


def test_a_deep_window_names_the_requesters_in_one_more_query_only_if_others_asked(
    customer, organisation, ticket_settings, django_assert_num_queries
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    colleague = CustomerFactory(organisation=organisation, name="", email="colleague@example.com")
    company = CompanyFactory(organisation=organisation, members=[customer, colleague])
    TicketFactory.create_batch(3, organisation=organisation, requester=colleague, company=company)
    TicketFactory.create_batch(110, organisation=organisation, requester=customer)
    listed = tickets_for(customer)
    ordered = list(listed_as_one_query(customer))

    with django_assert_num_queries(2):  # the window, and the colleague's name
        deep = listed[100:120]
    assert [t.pk for t in deep] == [t.pk for t in ordered[100:120]]
    assert {t.requester_label for t in deep} == {customer.name or customer.email, "colleague@example.com"}
    with django_assert_num_queries(1):  # the customer's own tickets only: their name is known
        assert {t.requester_label for t in listed[95:101]} == {customer.name or customer.email}


def test_a_window_must_have_an_end(customer):
    with pytest.raises(TypeError):
        tickets_for(customer)[5:]


def test_each_customer_gets_their_own_list_from_the_same_compiled_queries(
    organisation, other_organisation, customer, varied_tickets, ticket_settings
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    others = list(organisation.customers.exclude(pk=customer.pk)) + list(other_organisation.customers.all())
    assert len(others) >= 4
    for someone in [customer, *others, customer]:
        for status in (None, Ticket.Status.OPEN):
            expected = [t.pk for t in listed_as_one_query(someone, status=status)]
            listed = tickets_for(someone, status=status)
            assert listed.count() == len(expected)
            assert [t.pk for t in listed[0:50]] == expected, (someone.email, status)


def test_once_counted_a_window_in_the_back_half_is_read_from_the_end_and_matches(
    organisation, customer, varied_tickets, ticket_settings
):
    ticket_settings.customer_access = TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    ticket_settings.save()
    everything = [t.pk for t in listed_as_one_query(customer)]
    total = len(everything)
    for status, query in ((None, None), (None, "refund")):
        listed = tickets_for(customer, status=status, query=query)
        expected = [t.pk for t in listed_as_one_query(customer, status=status, query=query)]
        assert listed.count() == len(expected)
        for start in range(len(expected)):
            for size in (1, 3, 7):
                assert [t.pk for t in listed[start : start + size]] == expected[start : start + size], (start, size)
    listed = tickets_for(customer)
    listed.count()
    assert [t.pk for t in listed[total - 2 : total + 10]] == everything[-2:]
