"""Which slots a service offers: opening hours and exceptions in the organisation's zone, the bookable window,
capacity, and a resource that serves one slot at a time whichever service books it."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from bookings.availability import bookable_days, nearest_free_slots, service_slots
from bookings.models import AvailabilityException, Booking
from tests.bookings.factories import BookingFactory, OpeningHoursFactory, ServiceFactory, open_every_day

LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC
MONDAY = datetime.date(2027, 3, 1)
NOW = datetime.datetime(2027, 2, 20, 12, tzinfo=UTC)  # a week and more before MONDAY
BEFORE_SUMMER_TIME = datetime.datetime(2027, 3, 20, 12, tzinfo=UTC)
BEFORE_WINTER_TIME = datetime.datetime(2027, 10, 20, 8, tzinfo=UTC)


@pytest.fixture
def service(organisation):
    organisation.time_zone = "Europe/London"
    organisation.save()
    service = ServiceFactory(organisation=organisation)
    open_every_day(service.resource)
    return service


def at(day: datetime.date, hour: int, minute: int = 0, zone: ZoneInfo = LONDON) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def starts(service, day, **kwargs) -> list[str]:
    return [f"{slot.starts_at:%H:%M}" for slot in service_slots(service, [day], now=NOW, **kwargs)[day]]


def book(service, start, *, places=1, status=Booking.Status.CONFIRMED, resource=None):
    return BookingFactory(
        organisation=service.organisation,
        service=service,
        resource=resource or service.resource,
        slot_starts_at=start,
        slot_ends_at=start + service.duration,
        starts_on=start.date(),
        ends_on=start.date(),
        places=places,
        status=status,
    )


def test_slots_follow_one_another_through_the_weekly_hours_in_the_organisations_zone(service):
    slots = service_slots(service, [MONDAY], now=NOW)[MONDAY]
    assert [slot.starts_at for slot in slots] == [at(MONDAY, 9), at(MONDAY, 10), at(MONDAY, 11)]
    assert all(slot.starts_at.tzinfo == LONDON and slot.places_left == 1 for slot in slots)
    assert slots[0].ends_at == at(MONDAY, 10)


def test_several_windows_a_day_and_days_without_hours(service):
    OpeningHoursFactory(resource=service.resource, weekday=0, opens=datetime.time(14), closes=datetime.time(16, 30))
    assert starts(service, MONDAY) == ["09:00", "10:00", "11:00", "14:00", "15:00"]  # 16:00 would end after closing
    service.resource.opening_hours.filter(weekday=1).delete()
    assert starts(service, MONDAY + datetime.timedelta(days=1)) == []


def test_a_closed_date_has_no_slots_and_extra_hours_add_some(service):
    AvailabilityException.objects.create(resource=service.resource, date=MONDAY, kind="closed")
    tuesday = MONDAY + datetime.timedelta(days=1)
    AvailabilityException.objects.create(
        resource=service.resource, date=tuesday, kind="extra", opens=datetime.time(18), closes=datetime.time(20)
    )
    assert starts(service, MONDAY) == []
    assert starts(service, tuesday) == ["09:00", "10:00", "11:00", "18:00", "19:00"]
    assert starts(service, tuesday + datetime.timedelta(days=1)) == ["09:00", "10:00", "11:00"]


def test_only_slots_within_the_bookable_window_are_offered(service):
    # Two hours' notice: at 08:30 on the day, 09:00 and 10:00 are too soon, 10:30 is the first bookable start.
    now = at(MONDAY, 8, 30)
    assert [f"{s.starts_at:%H:%M}" for s in service_slots(service, [MONDAY], now=now)[MONDAY]] == ["11:00"]
    # Up to 30 days ahead, to the minute.
    last = MONDAY + datetime.timedelta(days=30)
    assert [f"{s.starts_at:%H:%M}" for s in service_slots(service, [last], now=at(MONDAY, 10))[last]] == [
        "09:00",
        "10:00",
    ]
    assert (
        service_slots(service, [last + datetime.timedelta(days=1)], now=at(MONDAY, 10))[
            last + datetime.timedelta(days=1)
        ]
        == []
    )
    assert bookable_days(service, now=at(MONDAY, 23)) == (MONDAY + datetime.timedelta(days=1), last)


def test_slots_keep_their_local_time_across_a_daylight_saving_change(service):
    # London moves from GMT to BST on Sunday 28 March 2027 at 01:00.
    saturday, sunday = datetime.date(2027, 3, 27), datetime.date(2027, 3, 28)
    before, after = service_slots(service, [saturday, sunday], now=BEFORE_SUMMER_TIME).values()
    assert before[0].starts_at.astimezone(UTC) == datetime.datetime(2027, 3, 27, 9, tzinfo=UTC)
    assert after[0].starts_at.astimezone(UTC) == datetime.datetime(2027, 3, 28, 8, tzinfo=UTC)
    assert f"{after[0].starts_at:%H:%M %Z}" == "09:00 BST"


def test_a_wall_time_the_clocks_skip_holds_no_slot(service):
    sunday = datetime.date(2027, 3, 28)
    service.resource.opening_hours.filter(weekday=6).update(opens=datetime.time(0), closes=datetime.time(4))
    slots = service_slots(service, [sunday], now=BEFORE_SUMMER_TIME)[sunday]
    assert [f"{slot.starts_at:%H:%M}" for slot in slots] == ["00:00", "02:00", "03:00"]
    # Each lasts an hour of elapsed time, the 00:00 one ending at 02:00 BST.
    assert all(
        slot.ends_at.astimezone(UTC) - slot.starts_at.astimezone(UTC) == datetime.timedelta(hours=1) for slot in slots
    )
    assert f"{slots[0].ends_at:%H:%M %Z}" == "02:00 BST"


@pytest.mark.parametrize(
    ("opens", "closes", "duration", "offered"),
    [
        (datetime.time(0, 30), datetime.time(2), 60, []),  # 30 minutes of elapsed time that night
        (datetime.time(0, 30), datetime.time(2), 30, ["00:30 GMT"]),
        (datetime.time(18), datetime.time(2), 90, []),  # the 00:00 slot of Saturday's window would end at 02:30 BST
    ],
)
def test_no_slot_runs_past_closing_on_the_night_the_clocks_go_forward(service, opens, closes, duration, offered):
    sunday = datetime.date(2027, 3, 28)
    weekday = sunday.weekday() if opens < closes else sunday.weekday() - 1
    service.resource.opening_hours.filter(weekday__in=[weekday, sunday.weekday()]).update(opens=opens, closes=closes)
    service.duration = datetime.timedelta(minutes=duration)
    closing = at(sunday, closes.hour, closes.minute).astimezone(UTC)

    slots = [
        slot for slot in service_slots(service, [sunday], now=BEFORE_SUMMER_TIME)[sunday] if slot.starts_at < closing
    ]

    assert all(slot.ends_at.astimezone(UTC) <= closing for slot in slots)
    assert [f"{slot.starts_at:%H:%M %Z}" for slot in slots] == offered


def test_a_group_slot_in_the_hour_the_clocks_repeat_counts_its_places(service):
    """London repeats 01:00-02:00 on Sunday 31 October 2027: a class at 01:00 (the first one) keeps its places."""
    sunday = datetime.date(2027, 10, 31)
    service.capacity = 12
    service.save()
    service.resource.opening_hours.filter(weekday=6).update(opens=datetime.time(0), closes=datetime.time(3))
    first_one = datetime.datetime(2027, 10, 31, 0, tzinfo=UTC)  # 01:00 BST
    book(service, first_one, places=2)

    slots = service_slots(service, [sunday], now=BEFORE_WINTER_TIME)[sunday]

    by_instant = {slot.starts_at.astimezone(UTC): slot.places_left for slot in slots}
    assert by_instant[first_one] == 10


def test_the_same_hours_in_another_zone_are_other_instants(service, organisation):
    organisation.time_zone = "America/New_York"
    organisation.save()
    service.organisation.refresh_from_db()
    first = service_slots(service, [MONDAY], now=NOW)[MONDAY][0]
    assert first.starts_at.astimezone(UTC) == datetime.datetime(2027, 3, 1, 14, tzinfo=UTC)


def test_a_group_slot_shows_the_places_left_until_it_is_full(service):
    service.capacity = 12
    service.save()
    book(service, at(MONDAY, 9), places=10)
    book(service, at(MONDAY, 10), places=12)
    book(service, at(MONDAY, 11), places=12, status=Booking.Status.CANCELLED)
    slots = {f"{s.starts_at:%H:%M}": s.places_left for s in service_slots(service, [MONDAY], now=NOW)[MONDAY]}
    assert slots == {"09:00": 2, "11:00": 12}


def test_a_provisional_booking_holds_its_places(service):
    book(service, at(MONDAY, 9), status=Booking.Status.PROVISIONAL)
    assert starts(service, MONDAY) == ["10:00", "11:00"]


def test_services_sharing_a_resource_never_overlap(service, organisation):
    long_service = ServiceFactory(organisation=organisation, resource=service.resource, capacity=12)
    long_service.duration = datetime.timedelta(minutes=90)
    long_service.save()
    book(long_service, at(MONDAY, 9), places=1)  # 09:00-10:30, with 11 places left for the same class
    assert starts(service, MONDAY) == ["11:00"]
    # The class goes on sharing its own slot; its next one starts when the first ends.
    offered = service_slots(long_service, [MONDAY], now=NOW)[MONDAY]
    assert [(f"{slot.starts_at:%H:%M}", slot.places_left) for slot in offered] == [("09:00", 11), ("10:30", 12)]
    book(service, at(MONDAY, 11))
    offered = service_slots(long_service, [MONDAY], now=NOW)[MONDAY]
    assert [(f"{slot.starts_at:%H:%M}", slot.places_left) for slot in offered] == [("09:00", 11)]


def test_bookings_on_another_resource_or_a_day_before_change_nothing(service, organisation):
    other = ServiceFactory(organisation=organisation)
    book(other, at(MONDAY, 9))
    book(service, at(MONDAY - datetime.timedelta(days=1), 11))
    assert starts(service, MONDAY) == ["09:00", "10:00", "11:00"]


def test_a_booking_ignored_while_it_is_being_moved_frees_its_place(service):
    moving = book(service, at(MONDAY, 9))
    assert starts(service, MONDAY) == ["10:00", "11:00"]
    assert starts(service, MONDAY, ignoring=moving.pk) == ["09:00", "10:00", "11:00"]


def test_nearest_free_slots_surround_the_time_asked_for(service):
    for hour in (9, 10, 11):
        book(service, at(MONDAY, hour))
    nearest = nearest_free_slots(service, at(MONDAY, 10), now=NOW)
    sunday, tuesday = MONDAY - datetime.timedelta(days=1), MONDAY + datetime.timedelta(days=1)
    # 23 hours away, then 24 (the earlier of two equally near first).
    assert [slot.starts_at for slot in nearest] == [at(sunday, 10), at(sunday, 11), at(tuesday, 9)]


def test_a_days_slots_take_three_queries_whatever_the_bookings(service, django_assert_num_queries):
    for day in range(20):
        book(service, at(MONDAY + datetime.timedelta(days=day), 9))
    with django_assert_num_queries(3):
        service_slots(service, [MONDAY + datetime.timedelta(days=day) for day in range(28)], now=NOW)
