"""The booking pages are born fast and live: a handful of queries whatever the bookings, and a repeat view from
the page cache that every write changing the free times makes stale (WRITES), for every customer."""

import datetime
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from bookings.models import AvailabilityException, Booking, OpeningHours
from bookings.services import service_book, service_booking_cancel, service_booking_reschedule
from tests.bookings.factories import BookingFactory, ServiceFactory
from tests.factories import CustomerFactory

LONDON = ZoneInfo("Europe/London")
NOW = datetime.datetime(2027, 3, 1, 8, tzinfo=datetime.UTC)
DAY = datetime.date(2027, 3, 3)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(hour: int) -> datetime.datetime:
    return datetime.datetime.combine(DAY, datetime.time(hour), tzinfo=LONDON)


def times_url(service) -> str:
    return reverse(
        "bookings:book_times", kwargs={"org": service.organisation.slug, "service_id": service.pk, "day": DAY}
    )


def days_url(service) -> str:
    return reverse("bookings:book_days", kwargs={"org": service.organisation.slug, "service_id": service.pk})


def free_time_url(service) -> str:
    kwargs = {"org": service.organisation.slug, "service_id": service.pk, "day": DAY, "time": datetime.time(11)}
    return reverse("bookings:book_details", kwargs=kwargs)


def taken_time_url(service) -> str:
    """The 09:00 slot, which _fill books: the page offers the nearest free times instead."""
    kwargs = {"org": service.organisation.slug, "service_id": service.pk, "day": DAY, "time": datetime.time(9)}
    return reverse("bookings:book_details", kwargs=kwargs)


def _fill(service, count: int) -> None:
    """`count` bookings on the service's resource, on days around DAY: what the pages must not grow with."""
    Booking.objects.bulk_create(
        BookingFactory.build(
            organisation=service.organisation,
            service=service,
            resource=service.resource,
            slot_starts_at=at(9) + datetime.timedelta(days=n - count // 2),
            slot_ends_at=at(10) + datetime.timedelta(days=n - count // 2),
            starts_on=DAY,
            ends_on=DAY,
            places=12,
        )
        for n in range(count)
    )


def _moving(route: str, **kwargs) -> Callable:
    """The page `route` of moving the customer's booking of the service (which the test below makes)."""

    def moving_url(service) -> str:
        booking = Booking.objects.get(service=service, booked_by_customer__isnull=False)
        return reverse(
            f"bookings:{route}", kwargs={"org": service.organisation.slug, "reference": booking.reference, **kwargs}
        )

    moving_url.__name__ = route
    return moving_url


MOVING_PAGES = [
    _moving("reschedule_days"),
    _moving("reschedule_times", day=DAY),
    _moving("reschedule", day=DAY, time=datetime.time(11)),
]


@pytest.mark.parametrize(
    "page", [days_url, times_url, free_time_url, taken_time_url, *MOVING_PAGES], ids=lambda page: page.__name__
)
def test_the_pages_take_the_same_few_queries_as_bookings_grow(
    sign_in, customer, bookable, settings, page, django_assert_max_num_queries
):
    settings.PAGE_CACHE_ENABLED = False
    client = sign_in(customer)
    service_book(service=bookable, customer=customer, starts_at=at(10), places=2)
    _fill(bookable, 10)
    path = page(bookable)
    with django_assert_max_num_queries(6) as few:
        assert client.get(path).status_code == 200
    _fill(bookable, 2000)
    with django_assert_max_num_queries(6) as many:
        response = client.get(path)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert ("That time is no longer free" in response.content.decode()) == (page is taken_time_url)


def _another_customer_books(service, customer):
    service_book(
        service=service, customer=CustomerFactory(organisation=service.organisation), starts_at=at(10), places=12
    )


def _the_customer_cancels(service, customer):
    service_booking_cancel(booking=_booked(service, customer), customer=customer)


def _the_customer_moves(service, customer):
    service_booking_reschedule(booking=_booked(service, customer), customer=customer, starts_at=at(11))


def _booked(service, customer) -> Booking:
    return Booking.objects.get(service=service, booked_by_customer=customer)


def _staff_close_the_day(service, customer):
    AvailabilityException.objects.create(resource=service.resource, date=DAY, kind="closed")


def _staff_change_the_hours(service, customer):
    hours = OpeningHours.objects.get(resource=service.resource, weekday=DAY.weekday())
    hours.closes = datetime.time(10)  # as the resource's inline in the admin saves it
    hours.save()


def _staff_edit_the_service(service, customer):
    service.capacity = 3
    service.save()


def _staff_cancel_in_the_admin(service, customer):
    booking = _booked(service, customer)
    booking.status = Booking.Status.CANCELLED
    booking.save()


def _another_service_books_the_resource(service, customer):
    other = ServiceFactory(organisation=service.organisation, resource=service.resource)
    service_book(service=other, customer=CustomerFactory(organisation=service.organisation), starts_at=at(10), places=1)


WRITES: dict[str, tuple[Callable, str]] = {
    # what changes: (the write, what the times page shows after it, in the 10:00 slot's line)
    "another customer books the rest of a slot": (_another_customer_books, "no-10"),
    "the customer cancels": (_the_customer_cancels, "12 places left"),
    "the customer moves": (_the_customer_moves, "12 places left"),
    "staff close the day": (_staff_close_the_day, "No free times left on this day."),
    "staff change the opening hours": (_staff_change_the_hours, "no-10"),
    "staff edit the service": (_staff_edit_the_service, "3 places left"),
    "staff cancel in the admin": (_staff_cancel_in_the_admin, "12 places left"),
    "another service books the shared resource": (_another_service_books_the_resource, "no-10"),
}


@pytest.mark.parametrize("write", WRITES, ids=list(WRITES))
def test_every_write_makes_the_next_view_of_the_free_times_fresh(sign_in, customer, bookable, write):
    change, shown = WRITES[write]
    if write in ("the customer cancels", "the customer moves", "staff cancel in the admin"):
        service_book(service=bookable, customer=customer, starts_at=at(10), places=2)
    viewer = sign_in(CustomerFactory(organisation=bookable.organisation))
    assert viewer.get(times_url(bookable)).context is not None
    assert viewer.get(times_url(bookable)).context is None  # the repeat view is served from the cache

    change(bookable, customer)

    fresh = viewer.get(times_url(bookable))
    assert fresh.context is not None, "a page shown from before the write"
    after = fresh.content.decode()
    line = next((line for line in after.splitlines() if "10:00 to 11:00" in line), "")
    if shown == "no-10":
        assert line == "" and "10:00 to 11:00" not in after
    elif shown.startswith("No free"):
        assert shown in after
    else:
        assert shown in after.split("10:00 to 11:00", 1)[1].split("</li>", 1)[0]


def test_kept_free_times_are_rendered_again_within_five_minutes(sign_in, customer, bookable):
    # A slot leaves the bookable window as time passes, with no write to make its page stale.
    client = sign_in(customer)
    assert client.get(times_url(bookable)).context is not None
    assert client.get(times_url(bookable)).context is None
    with time_machine.travel(NOW + datetime.timedelta(minutes=5), tick=False):
        assert client.get(times_url(bookable)).context is not None


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_day_off_the_calendar_is_404_and_a_from_off_it_starts_today(sign_in, customer, bookable, day):
    client = sign_in(customer)
    slug = customer.organisation.slug
    booking = BookingFactory(organisation=customer.organisation, service=bookable, booked_by_customer=customer)
    booking.attendees.create(name="Alice", email=customer.email)
    for path in (
        f"/{slug}/bookings/book/{bookable.pk}/{day}/",
        f"/{slug}/bookings/book/{bookable.pk}/{day}/0900/",
        f"/{slug}/bookings/{booking.reference}/reschedule/{day}/",
        f"/{slug}/bookings/{booking.reference}/reschedule/{day}/0900/",
    ):
        assert client.get(path).status_code == 404, path

    response = client.get(days_url(bookable), {"from": day})

    assert response.status_code == 200
    days_linked = re.compile(rf"/book/{bookable.pk}/(\d{{4}}-\d\d-\d\d)/")
    shown = days_linked.findall(response.content.decode())
    assert shown and shown == days_linked.findall(client.get(days_url(bookable)).content.decode())
