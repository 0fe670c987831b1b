import datetime
import gc
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.models import Prefetch
from django.utils import timezone

from portal_auth.models import Customer
from portal_core.prepared import PreparedQuery, window_bounds
from tests.factories import CustomerFactory, OrganisationFactory
from tests.tickets.factories import TicketFactory, TicketMessageFactory
from tickets.models import Ticket, TicketMessage

pytestmark = pytest.mark.django_db


def _tickets_of(customer_id: int, organisation_id: int, status=None):
    tickets = Ticket.objects.filter(requester_id=customer_id, organisation_id=organisation_id)
    if status is not None:
        tickets = tickets.filter(status=status)
    return tickets.select_related("requester").order_by("number")


@pytest.fixture
def two_customers():
    """Two customers of two organisations, each with tickets of their own."""
    first, second = CustomerFactory(), CustomerFactory()
    for customer, subjects in ((first, ["Lost bag", "Seat change"]), (second, ["Refund"])):
        for subject in subjects:
            TicketFactory(organisation=customer.organisation, requester=customer, subject=subject)
    return first, second


def test_each_call_reads_its_own_values_rows_as_the_queryset_would(two_customers):
    first, second = two_customers
    tickets_of = PreparedQuery(_tickets_of)

    for customer in (first, second, first):
        got = tickets_of(customer_id=customer.pk, organisation_id=customer.organisation_id)
        expected = list(_tickets_of(customer.pk, customer.organisation_id))
        assert [(t.pk, t.subject, t.requester.email) for t in got] == [
            (t.pk, t.subject, t.requester.email) for t in expected
        ]
    assert tickets_of(customer_id=first.pk, organisation_id=second.organisation_id) == []


def test_the_compiled_sql_is_reused_and_a_new_shape_compiled_once(two_customers, django_assert_num_queries):
    first, second = two_customers
    tickets_of = PreparedQuery(_tickets_of)
    compiled = 0
    original = tickets_of._compile

    def counting(values):
        nonlocal compiled
        compiled += 1
        return original(values)

    tickets_of._compile = counting  # type: ignore[method-assign]
    with django_assert_num_queries(4):
        tickets_of(customer_id=first.pk, organisation_id=first.organisation_id)
        tickets_of(customer_id=second.pk, organisation_id=second.organisation_id)
        open_ones = tickets_of(customer_id=first.pk, organisation_id=first.organisation_id, status=Ticket.Status.OPEN)
        tickets_of(customer_id=second.pk, organisation_id=second.organisation_id, status=Ticket.Status.SOLVED)
    assert compiled == 2 if connection.vendor == "postgresql" else compiled == 0
    assert {t.subject for t in open_ones} == {"Lost bag", "Seat change"}


def test_a_none_is_a_shape_of_its_own_not_a_value(two_customers):
    first, _ = two_customers
    TicketFactory(organisation=first.organisation, requester=first, subject="Someone's", assigned_agent=None)
    unassigned = PreparedQuery(
        lambda customer_id, agent_id: Ticket.objects.filter(requester_id=customer_id, assigned_agent_id=agent_id)
    )
    assert unassigned(customer_id=first.pk, agent_id=1) == []
    assert len(unassigned(customer_id=first.pk, agent_id=None)) == 3


def test_values_lists_prefetches_and_counts_as_the_queryset_gives_them(two_customers):
    first, _ = two_customers
    ticket = Ticket.objects.filter(requester=first).order_by("number").first()
    TicketMessageFactory(ticket=ticket, body="Hello")

    subjects = PreparedQuery(
        lambda customer_id: Ticket.objects.filter(requester_id=customer_id).order_by("number").values_list("subject")
    )
    assert subjects(customer_id=first.pk) == [("Lost bag",), ("Seat change",)]

    with_messages = PreparedQuery(
        lambda customer_id: (
            Ticket.objects.filter(requester_id=customer_id)
            .order_by("number")
            .prefetch_related(Prefetch("messages", queryset=TicketMessage.objects.order_by("pk"), to_attr="shown"))
        )
    )
    assert [[m.body for m in t.shown] for t in with_messages(customer_id=first.pk)] == [["Hello"], []]
    assert PreparedQuery(_tickets_of).count(customer_id=first.pk, organisation_id=first.organisation_id) == 2


def test_dates_and_datetimes_are_parameters():
    organisation = OrganisationFactory()
    old = CustomerFactory(organisation=organisation)
    Customer.objects.filter(pk=old.pk).update(last_sign_in_at=timezone.now() - datetime.timedelta(days=3))
    signed_in_since = PreparedQuery(
        lambda organisation_id, since: Customer.objects.filter(
            organisation_id=organisation_id, last_sign_in_at__gte=since
        )
    )
    now = timezone.now()
    assert signed_in_since(organisation_id=organisation.pk, since=now - datetime.timedelta(days=4)) == [old]
    assert signed_in_since(organisation_id=organisation.pk, since=now - datetime.timedelta(days=2)) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="queries are compiled once on PostgreSQL only")
@pytest.mark.parametrize(
    ("build", "refusal"),
    [
        # A moment read while building would be frozen into every later call.
        (
            lambda organisation_id: Customer.objects.filter(
                organisation_id=organisation_id, created_at__lte=timezone.now()
            ),
            "depends on more",
        ),
        # icontains binds "%…%", not the value given: the value would be lost.
        (lambda text: Customer.objects.filter(email__icontains=text), "changed before it is bound"),
        # An argument the query never binds can't be told apart from one it changes.
        (
            lambda organisation_id, email: Customer.objects.filter(organisation_id=organisation_id),
            "never reach the SQL",
        ),
    ],
)
def test_builders_whose_query_would_not_follow_their_arguments_are_refused(build, refusal):
    prepared = PreparedQuery(build)
    arguments = {
        name: 1 if name.endswith("_id") else "x" for name in build.__code__.co_varnames[: build.__code__.co_argcount]
    }
    with pytest.raises(ImproperlyConfigured, match=refusal):
        prepared(**arguments)


@pytest.mark.django_db(transaction=True)
def test_threads_running_one_compiled_query_each_get_their_own_rows(two_customers):
    first, second = two_customers
    tickets_of = PreparedQuery(_tickets_of)
    tickets_of(customer_id=first.pk, organisation_id=first.organisation_id)  # compiled in this thread
    seen: dict[str, set[str]] = {}
    errors = []

    def read(name, customer):
        try:
            for _ in range(30):
                subjects = {
                    t.subject for t in tickets_of(customer_id=customer.pk, organisation_id=customer.organisation_id)
                }
                seen.setdefault(name, set()).update(subjects)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=read, args=(name, customer)) for name, customer in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert seen == {"a": {"Lost bag", "Seat change"}, "b": {"Refund"}}


def test_a_window_is_read_bounded_or_refused():
    assert window_bounds(slice(None, 20), "list") == (0, 20)
    assert window_bounds(slice(20, 40), "list") == (20, 40)
    for unbounded in (slice(20, None), slice(0, 20, 2)):
        with pytest.raises(TypeError, match=r"list\[start:stop\]"):
            window_bounds(unbounded, "list")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="queries are compiled once on PostgreSQL only")
def test_two_values_drawing_the_same_marker_still_land_in_their_own_places(two_customers, monkeypatch):
    first, _ = two_customers
    draws = iter([5, 5, 6, 7, 7, 8])  # each build's two ints draw alike first
    monkeypatch.setattr("portal_core.prepared.secrets.randbelow", lambda bound: next(draws))
    tickets_of = PreparedQuery(_tickets_of)

    got = tickets_of(customer_id=first.pk, organisation_id=first.organisation_id)

    assert {ticket.subject for ticket in got} == {"Lost bag", "Seat change"}


@pytest.mark.django_db(transaction=True)
def test_converted_columns_are_converted_on_every_run_and_on_every_connection(two_customers):
    first, second = two_customers
    for customer, links in ((first, {"Terms": "policies/terms/"}), (second, {"Privacy": "policies/privacy/"})):
        customer.organisation.footer_links = links
        customer.organisation.save(update_fields=["footer_links"])
    with_links = PreparedQuery(
        lambda customer_id: (
            Customer.objects.select_related("organisation")
            .only("email", "organisation__footer_links")
            .filter(pk=customer_id)
        )
    )
    expected = {first.pk: {"Terms": "policies/terms/"}, second.pk: {"Privacy": "policies/privacy/"}}
    for customer in (first, second, first):
        assert with_links(customer_id=customer.pk)[0].organisation.footer_links == expected[customer.pk]
    seen, errors = [], []

    def read():
        try:
            seen.extend(with_links(customer_id=second.pk)[0].organisation.footer_links for _ in range(3))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert errors == []
    assert seen == [expected[second.pk]] * 3


def test_running_a_compiled_query_leaves_no_garbage_cycle(two_customers):
    """What a run builds (a copy of the compiler, its SQL, its converters) is freed as soon as the run ends, not at
    the garbage collector's next pass: a page runs several of these on every request."""
    first, _ = two_customers
    tickets_of = PreparedQuery(_tickets_of)
    for _ in range(3):
        tickets_of(customer_id=first.pk, organisation_id=first.organisation_id)
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            assert len(tickets_of(customer_id=first.pk, organisation_id=first.organisation_id)) == 2
        assert gc.collect() == 0
    finally:
        gc.enable()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statements are prepared by PostgreSQL only")
def test_a_search_run_again_and_again_is_never_prepared_so_it_is_planned_for_its_text(customer):
    from tickets.selectors import tickets_for

    def prepared_statements() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [statement for (statement,) in cursor.fetchall()]

    for _ in range(12):  # over psycopg's prepare_threshold (5) many times
        searched = tickets_for(customer, query="refund")
        assert searched[0:20] == [] and searched.count() == 0
    unsearched = tickets_for(customer)
    for _ in range(12):
        assert unsearched[0:20] == []

    prepared = prepared_statements()
    assert not [statement for statement in prepared if "LIKE" in statement.upper()]
    # The list without a search is prepared, as every hot page's statements are.
    assert [statement for statement in prepared if "tickets_ticket" in statement]
    assert connection.connection.prepare_threshold == 5  # given back
