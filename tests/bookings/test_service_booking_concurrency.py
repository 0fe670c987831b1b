"""Twenty customers confirm the last place of a class at the same moment: exactly one booking is made.

PostgreSQL: each confirmation locks the resource's row before counting its places, so they are decided one
after the other. SQLite: each transaction begins IMMEDIATE, holding the database's write lock, with the same
effect; shown on a file database shared by twenty connections, as a deployed SQLite is.
"""

import datetime
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

import bookings.services
from bookings.models import Booking, BookingAddOn
from bookings.services import (
    SlotUnavailable,
    booking_add_on_book,
    booking_add_on_cancel,
    booking_add_ons_save_by_staff,
    service_book,
    service_booking_cancel,
)
from outbox.models import OutboxEmail
from portal_core.sent_once import CreatedAlready
from tests.bookings.factories import AddOnFactory, ServiceFactory, open_every_day
from tests.factories import CustomerFactory, StaffUserFactory

ROOT = Path(__file__).resolve().parents[2]
RACERS = 20


def _race(service, customers, starts_at, *, request_token="") -> tuple[int, int, list[BaseException]]:
    """How many were booked (or answered with the booking their confirmation made already), how many refused, and
    what else was raised."""
    booked, refused, errors = [], [], []
    start = threading.Barrier(len(customers))

    def run(customer) -> None:
        try:
            start.wait()
            service_book(service=service, customer=customer, starts_at=starts_at, places=1, request_token=request_token)
            booked.append(customer)
        except CreatedAlready:
            booked.append(customer)
        except SlotUnavailable:
            refused.append(customer)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return len(booked), len(refused), errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQLite case runs on a file database below")
@pytest.mark.django_db(transaction=True)
def test_twenty_confirmations_of_the_last_place_make_one_booking_on_postgresql():
    service = ServiceFactory(capacity=12)
    open_every_day(service.resource)
    zone = service.organisation.zone
    starts_at = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=3), datetime.time(10), tzinfo=zone
    )
    service_book(
        service=service, customer=CustomerFactory(organisation=service.organisation), starts_at=starts_at, places=11
    )
    customers = CustomerFactory.create_batch(RACERS, organisation=service.organisation)
    OutboxEmail.objects.all().delete()

    booked, refused, errors = _race(service, customers, starts_at)

    assert errors == []
    assert (booked, refused) == (1, RACERS - 1)
    assert sum(Booking.objects.filter(service=service).values_list("places", flat=True)) == 12
    assert Booking.objects.filter(service=service).count() == 2
    assert OutboxEmail.objects.exclude(to=service.organisation.support_email).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_one_confirmation_pressed_eight_times_at_once_books_once_on_postgresql():
    service = ServiceFactory(capacity=12)
    open_every_day(service.resource)
    starts_at = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=3), datetime.time(10), tzinfo=service.organisation.zone
    )
    customer = CustomerFactory(organisation=service.organisation)

    booked, refused, errors = _race(service, [customer] * 8, starts_at, request_token="one-confirmation")

    assert (errors, booked, refused) == ([], 8, 0)  # each press answered with the booking
    assert Booking.objects.filter(service=service).count() == 1
    assert OutboxEmail.objects.exclude(to=service.organisation.support_email).count() == 1


_SQLITE_RACE = """
import datetime, sys, threading
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from bookings.models import Booking
from bookings.services import SlotUnavailable, service_book
from tests.bookings.factories import ServiceFactory, open_every_day
from tests.factories import CustomerFactory

call_command("migrate", verbosity=0)
service = ServiceFactory(capacity=12)
open_every_day(service.resource)
starts_at = datetime.datetime.combine(
    datetime.date.today() + datetime.timedelta(days=3), datetime.time(10), tzinfo=service.organisation.zone
)
first = CustomerFactory(organisation=service.organisation)
service_book(service=service, customer=first, starts_at=starts_at, places=11)
customers = CustomerFactory.create_batch(int(sys.argv[1]), organisation=service.organisation)
connection.close()
outcomes = []
barrier = threading.Barrier(len(customers))

def run(customer):
    try:
        barrier.wait()
        service_book(service=service, customer=customer, starts_at=starts_at, places=1)
        outcomes.append("booked")
    except SlotUnavailable:
        outcomes.append("refused")
    except Exception as error:
        outcomes.append(f"error {error!r}")
    finally:
        connection.close()

threads = [threading.Thread(target=run, args=(customer,)) for customer in customers]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
places = sum(Booking.objects.filter(service=service).values_list("places", flat=True))
print(outcomes.count("booked"), outcomes.count("refused"), places, [o for o in outcomes if o.startswith("error")])
"""


def test_twenty_confirmations_of_the_last_place_make_one_booking_on_sqlite(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", _SQLITE_RACE, str(RACERS)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[-2] == f"1 {RACERS - 1} 12 []"


def _while_the_booking_is_locked(booking, action):
    """Run `action` while another connection holds the booking's row, as cancelling the booking does before it
    locks its add-on lines. A wait for that row fails after a second (lock_timeout) instead of deadlocking."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Booking.objects.select_for_update(of=("self",)).get(pk=booking.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            return action()
    finally:
        release.set()
        holder.join(timeout=30)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("by", ["customer", "staff"])
def test_an_add_on_is_cancelled_without_waiting_for_its_booking_being_cancelled_on_postgresql(by):
    service = ServiceFactory()
    open_every_day(service.resource)
    starts_at = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=3), datetime.time(10), tzinfo=service.organisation.zone
    )
    customer = CustomerFactory(organisation=service.organisation)
    booking = service_book(service=service, customer=customer, starts_at=starts_at, places=1)
    line, _ = booking_add_on_book(
        booking=booking, add_on=AddOnFactory(organisation=service.organisation), customer=customer
    )

    def cancel() -> None:
        if by == "customer":
            booking_add_on_cancel(line=line, customer=customer)
        else:
            booking_add_ons_save_by_staff(lines=[], deleted=[], staff_user=StaffUserFactory(), cancelled=[line])

    try:
        _while_the_booking_is_locked(booking, cancel)
    except OperationalError as error:  # the add-on's cancel waited for the booking: the two would deadlock
        pytest.fail(f"cancelling the add-on waited for its booking's lock: {error}")
    line.refresh_from_db()
    assert line.is_cancelled
    assert (
        line.cancelled_by
        == {"customer": BookingAddOn.CancelledBy.CUSTOMER, "staff": BookingAddOn.CancelledBy.STAFF}[by]
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_add_on_booked_while_its_booking_is_cancelled_is_cancelled_with_it_on_postgresql(monkeypatch):
    """The add-on's line is written, not yet committed, when the customer cancels the booking in another tab: the
    cancellation waits for it and cancels it too, so no add-on (nor its invoice) outlives its booking."""
    service = ServiceFactory()
    open_every_day(service.resource)
    starts_at = datetime.datetime.combine(
        datetime.date.today() + datetime.timedelta(days=3), datetime.time(10), tzinfo=service.organisation.zone
    )
    customer = CustomerFactory(organisation=service.organisation)
    booking = service_book(service=service, customer=customer, starts_at=starts_at, places=1)
    add_on = AddOnFactory(organisation=service.organisation)
    written, may_commit = threading.Event(), threading.Event()
    link_make = bookings.services.notification_link_make
    errors = []

    def held_after_the_line(**kwargs):  # called once the add-on's line is written, before its transaction commits
        if threading.current_thread().name == "add-on":
            written.set()
            may_commit.wait(timeout=30)
        return link_make(**kwargs)

    monkeypatch.setattr(bookings.services, "notification_link_make", held_after_the_line)

    def run(action) -> None:
        try:
            action()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    adding = threading.Thread(
        target=run,
        name="add-on",
        args=(lambda: booking_add_on_book(booking=booking, add_on=add_on, customer=customer),),
    )
    adding.start()
    assert written.wait(timeout=30)
    cancelling = threading.Thread(
        target=run, args=(lambda: service_booking_cancel(booking=booking, customer=customer),)
    )
    cancelling.start()
    with connection.cursor() as cursor:  # until the cancellation waits for the booking's lock, or is done without
        while cancelling.is_alive():
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
    may_commit.set()
    adding.join(timeout=30)
    cancelling.join(timeout=30)

    assert errors == []
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    line = BookingAddOn.objects.get(booking=booking)
    assert line.is_cancelled and line.cancelled_by == BookingAddOn.CancelledBy.CUSTOMER
