"""Ticket numbers: sequential per organisation, and never twice the same, even when created at once."""

import threading

import pytest
from django.db import connection, connections

from tests.factories import CustomerFactory, OrganisationFactory
from tickets.models import Ticket
from tickets.services import ticket_create, ticket_number_take


def test_numbers_start_at_one_and_follow_on_per_organisation(customer, other_organisation):
    other = CustomerFactory(organisation=other_organisation)
    numbers = [ticket_create(customer=customer, subject="s", priority="low", body="b").number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert ticket_create(customer=other, subject="s", priority="low", body="b").number == 1


def test_the_counter_starts_after_tickets_that_exist_already(organisation, customer):
    Ticket.objects.create(organisation=organisation, number=41, requester=customer, subject="Imported")
    assert ticket_number_take(organisation=organisation) == 42


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_tickets_created_at_once_get_distinct_sequential_numbers():
    organisation = OrganisationFactory()
    customers = CustomerFactory.create_batch(8, organisation=organisation)
    start = threading.Barrier(len(customers))
    errors = []

    def create(customer):
        try:
            start.wait()
            for _ in range(3):
                ticket_create(customer=customer, subject="At once", priority="normal", body="b")
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(Ticket.objects.filter(organisation=organisation).values_list("number", flat=True))
    assert numbers == list(range(1, 25))
