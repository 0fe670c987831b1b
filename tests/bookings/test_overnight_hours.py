"""Opening hours that run past midnight (18:00–02:00, or until midnight at 00:00): their times after midnight belong
to the next day, as the portal's addresses (day and HHMM) name them, through daylight-saving nights; staff set them
in the admin, and customers book them page by page."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from bookings.availability import nearest_free_slots, service_slots
from bookings.models import AvailabilityException, Booking, OpeningHours, Resource
from tests.bookings.factories import BookingFactory, OpeningHoursFactory, ServiceFactory
from tests.bookings.test_service_booking import confirm, page, url

UTC = datetime.UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime.datetime(2027, 2, 20, 12, tzinfo=UTC)
MONDAY = datetime.date(2027, 3, 1)
TUESDAY = MONDAY + datetime.timedelta(days=1)
WEDNESDAY = MONDAY + datetime.timedelta(days=2)


@pytest.fixture
def tasting(organisation):
    """An hour's tasting in London, bookable up to 30 days ahead, on a resource with no hours yet."""
    organisation.time_zone = "Europe/London"
    organisation.save()
    return ServiceFactory(organisation=organisation, name="Whisky tasting")


def open_on(service, weekday: int, opens: datetime.time, closes: datetime.time) -> None:
    OpeningHoursFactory(resource=service.resource, weekday=weekday, opens=opens, closes=closes)


def times(service, *days: datetime.date, now: datetime.datetime = NOW) -> dict[datetime.date, list[str]]:
    return {
        day: [f"{slot.starts_at:%H:%M}" for slot in slots]
        for day, slots in service_slots(service, list(days), now=now).items()
    }


def at(day: datetime.date, hour: int, minute: int = 0, zone: ZoneInfo = LONDON) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


# ---------------------------------------------------------------------------------------------
# Which slots, on which day


def test_a_windows_times_after_midnight_are_offered_on_the_next_day(tasting):
    open_on(tasting, MONDAY.weekday(), datetime.time(18), datetime.time(2))

    assert times(tasting, MONDAY, TUESDAY, WEDNESDAY) == {
        MONDAY: ["18:00", "19:00", "20:00", "21:00", "22:00", "23:00"],
        TUESDAY: ["00:00", "01:00"],
        WEDNESDAY: [],
    }
    # Asked for alone, Tuesday still finds Monday's evening.
    assert times(tasting, TUESDAY) == {TUESDAY: ["00:00", "01:00"]}
    last_of_monday = service_slots(tasting, [MONDAY], now=NOW)[MONDAY][-1]
    assert last_of_monday.ends_at == at(TUESDAY, 0)


def test_a_window_closing_at_00_00_closes_at_midnight(tasting):
    open_on(tasting, MONDAY.weekday(), datetime.time(21), datetime.time(0))
    assert times(tasting, MONDAY, TUESDAY) == {MONDAY: ["21:00", "22:00", "23:00"], TUESDAY: []}


def test_a_time_both_the_evening_before_and_the_day_offer_is_offered_once(tasting):
    open_on(tasting, MONDAY.weekday(), datetime.time(22), datetime.time(2))
    open_on(tasting, TUESDAY.weekday(), datetime.time(1), datetime.time(3))
    assert times(tasting, TUESDAY) == {TUESDAY: ["00:00", "01:00", "02:00"]}


def test_a_closed_date_closes_its_own_windows_after_midnight_too_but_not_the_evening_before(tasting):
    for day in (MONDAY, TUESDAY):
        open_on(tasting, day.weekday(), datetime.time(22), datetime.time(2))
    AvailabilityException.objects.create(resource=tasting.resource, date=TUESDAY, kind="closed")

    assert times(tasting, MONDAY, TUESDAY, WEDNESDAY) == {
        MONDAY: ["22:00", "23:00"],
        TUESDAY: ["00:00", "01:00"],  # Monday's evening, still open
        WEDNESDAY: [],  # Tuesday's evening, closed
    }


def test_extra_hours_may_run_past_midnight(tasting):
    AvailabilityException.objects.create(
        resource=tasting.resource, date=MONDAY, kind="extra", opens=datetime.time(22), closes=datetime.time(1, 30)
    )
    assert times(tasting, MONDAY, TUESDAY) == {MONDAY: ["22:00", "23:00"], TUESDAY: ["00:00"]}


def test_a_booking_after_midnight_closes_the_slot_of_the_evening_before_it_overlaps(tasting, organisation):
    open_on(tasting, MONDAY.weekday(), datetime.time(18, 30), datetime.time(2, 30))
    quick_tour = ServiceFactory(organisation=organisation, resource=tasting.resource)
    BookingFactory(
        organisation=organisation,
        service=quick_tour,
        resource=tasting.resource,
        slot_starts_at=at(TUESDAY, 0),
        slot_ends_at=at(TUESDAY, 0, 30),
        starts_on=TUESDAY,
        ends_on=TUESDAY,
    )
    # 23:30–00:30 meets the booking after the day asked for; the slot of 00:30 on Tuesday starts as it ends.
    assert times(tasting, MONDAY)[MONDAY] == ["18:30", "19:30", "20:30", "21:30", "22:30"]
    assert times(tasting, TUESDAY)[TUESDAY] == ["00:30", "01:30"]


def test_the_nearest_free_slots_include_those_after_midnight(tasting):
    open_on(tasting, MONDAY.weekday(), datetime.time(22), datetime.time(2))
    nearest = nearest_free_slots(tasting, at(TUESDAY, 0, 30), now=NOW)
    assert [slot.starts_at for slot in nearest] == [at(MONDAY, 23), at(TUESDAY, 0), at(TUESDAY, 1)]


def test_a_days_slots_still_take_three_queries(tasting, django_assert_num_queries):
    open_on(tasting, MONDAY.weekday(), datetime.time(22), datetime.time(2))
    with django_assert_num_queries(3):
        service_slots(tasting, [TUESDAY], now=NOW)


# ---------------------------------------------------------------------------------------------
# Daylight-saving nights inside an overnight window

SPRING_FORWARD = [
    # (zone, the Saturday before the clocks go forward, the wall hour skipped on Sunday)
    pytest.param("Europe/London", datetime.date(2027, 3, 27), 1, id="london"),
    pytest.param("America/New_York", datetime.date(2027, 3, 13), 2, id="new-york"),
]
FALL_BACK = [
    # (zone, the Saturday before the clocks go back, the wall hour repeated on Sunday)
    pytest.param("Europe/London", datetime.date(2027, 10, 30), 1, id="london"),
    pytest.param("America/New_York", datetime.date(2027, 11, 6), 1, id="new-york"),
]


def _overnight_in(tasting, zone_name: str, saturday: datetime.date) -> ZoneInfo:
    tasting.organisation.time_zone = zone_name
    tasting.organisation.save()
    tasting.max_advance = datetime.timedelta(days=400)
    tasting.save()
    open_on(tasting, saturday.weekday(), datetime.time(22), datetime.time(4))
    return ZoneInfo(zone_name)


@pytest.mark.parametrize(("zone_name", "saturday", "skipped"), SPRING_FORWARD)
def test_the_wall_time_skipped_in_an_overnight_window_holds_no_slot(tasting, zone_name, saturday, skipped):
    zone = _overnight_in(tasting, zone_name, saturday)
    sunday = saturday + datetime.timedelta(days=1)

    slots = service_slots(tasting, [saturday, sunday], now=NOW)

    assert [f"{slot.starts_at:%H:%M}" for slot in slots[saturday]] == ["22:00", "23:00"]
    expected = [f"{hour:02}:00" for hour in range(4) if hour != skipped]
    assert [f"{slot.starts_at:%H:%M}" for slot in slots[sunday]] == expected
    # Each lasts an hour of elapsed time: the one before the jump ends an hour of wall time later than it would.
    every = slots[saturday] + slots[sunday]
    assert all(slot.ends_at.astimezone(UTC) - slot.starts_at == datetime.timedelta(hours=1) for slot in every)
    before_the_jump = next(slot for slot in slots[sunday] if slot.starts_at.hour == skipped - 1)
    assert before_the_jump.ends_at == datetime.datetime.combine(sunday, datetime.time(skipped + 1), tzinfo=zone)


@pytest.mark.parametrize(("zone_name", "saturday", "repeated"), FALL_BACK)
def test_the_hour_repeated_in_an_overnight_window_holds_one_slot(tasting, zone_name, saturday, repeated):
    zone = _overnight_in(tasting, zone_name, saturday)
    sunday = saturday + datetime.timedelta(days=1)

    slots = service_slots(tasting, [saturday, sunday], now=NOW)[sunday]

    assert [f"{slot.starts_at:%H:%M}" for slot in slots] == ["00:00", "01:00", "02:00", "03:00"]
    # 01:00 is its first occurrence, summer time, and ends an hour later: at 01:00 again, in winter time.
    repeated_slot = next(slot for slot in slots if slot.starts_at.hour == repeated)
    first_occurrence = datetime.datetime.combine(sunday, datetime.time(repeated), tzinfo=zone)
    assert repeated_slot.starts_at.astimezone(UTC) == first_occurrence.astimezone(UTC)
    assert repeated_slot.ends_at.astimezone(UTC) - repeated_slot.starts_at.astimezone(UTC) == datetime.timedelta(
        hours=1
    )
    assert repeated_slot.ends_at.replace(tzinfo=None) == first_occurrence.replace(tzinfo=None)
    assert len({slot.starts_at.astimezone(UTC) for slot in slots}) == 4


# ---------------------------------------------------------------------------------------------
# The rule kept: a window closes at another time than it opens


@pytest.mark.parametrize(
    ("opens", "closes", "shown"),
    [
        (datetime.time(18), datetime.time(2), "Friday 18:00–02:00 (next day)"),
        (datetime.time(20), datetime.time(0), "Friday 20:00–00:00 (midnight)"),
        (datetime.time(9), datetime.time(17), "Friday 09:00–17:00"),
    ],
)
def test_opening_hours_may_close_the_next_day_and_say_so(tasting, opens, closes, shown):
    hours = OpeningHours(resource=tasting.resource, weekday=OpeningHours.Weekday.FRIDAY, opens=opens, closes=closes)
    hours.full_clean()
    hours.save()
    assert str(hours) == shown


def test_extra_hours_past_midnight_say_so(tasting):
    extra = AvailabilityException(
        resource=tasting.resource, date=MONDAY, kind="extra", opens=datetime.time(22), closes=datetime.time(1)
    )
    extra.full_clean()
    assert str(extra) == "01 Mar 2027: extra hours 22:00–01:00 (next day)"


@pytest.mark.parametrize("time", [datetime.time(0), datetime.time(18)])
def test_a_window_opening_and_closing_at_the_same_time_is_refused(tasting, time):
    hours = OpeningHours(resource=tasting.resource, weekday=0, opens=time, closes=time)
    with pytest.raises(ValidationError, match="can't be the same as opening time"):
        hours.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        hours.save()

    extra = AvailabilityException(resource=tasting.resource, date=MONDAY, kind="extra", opens=time, closes=time)
    with pytest.raises(ValidationError, match="not the same one"):
        extra.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        extra.save()


def test_extra_hours_still_need_both_times(tasting):
    with pytest.raises(IntegrityError), transaction.atomic():
        AvailabilityException.objects.create(resource=tasting.resource, date=MONDAY, kind="extra", opens="18:00")
    AvailabilityException.objects.create(resource=tasting.resource, date=MONDAY, kind="closed")


# ---------------------------------------------------------------------------------------------
# Staff set them in the admin


def _resource_form(organisation, *hours: tuple[str, str, str]) -> dict[str, str]:
    form = {
        "organisation": str(organisation.pk),
        "name": "Cellar",
        "opening_hours-TOTAL_FORMS": str(len(hours)),
        "opening_hours-INITIAL_FORMS": "0",
        "exceptions-TOTAL_FORMS": "1",
        "exceptions-INITIAL_FORMS": "0",
        "exceptions-0-date": "2027-03-05",
        "exceptions-0-kind": "extra",
        "exceptions-0-opens": "23:00",
        "exceptions-0-closes": "01:00",
    }
    for n, (weekday, opens, closes) in enumerate(hours):
        form |= {f"opening_hours-{n}-weekday": weekday, f"opening_hours-{n}-opens": opens}
        form[f"opening_hours-{n}-closes"] = closes
    return form


def test_staff_set_overnight_hours_and_are_told_where_their_times_after_midnight_go(admin_client, organisation):
    add = reverse("admin:bookings_resource_add")
    assert "00:00 is midnight" in page(admin_client.get(add))
    assert "hours of the day before that run past midnight into this date stay open" in page(admin_client.get(add))

    response = admin_client.post(add, _resource_form(organisation, ("4", "18:00", "02:00"), ("6", "20:00", "00:00")))

    assert response.status_code == 302
    resource = Resource.objects.get(name="Cellar")
    assert [str(hours) for hours in resource.opening_hours.all()] == [
        "Friday 18:00–02:00 (next day)",
        "Sunday 20:00–00:00 (midnight)",
    ]
    shown = page(admin_client.get(response["Location"]))
    assert "Friday 18:00–02:00 (next day): its times after midnight are offered to customers on Saturday." in shown
    extra = "05 Mar 2027: extra hours 23:00–01:00 (next day): its times after midnight are offered to customers on "
    assert f"{extra}06 Mar 2027." in shown
    assert "Sunday 20:00–00:00 (midnight):" not in shown  # nothing after midnight to place
    history = LogEntry.objects.get(object_id=str(resource.pk), content_type__model="resource").get_change_message()
    assert "Friday 18:00–02:00 (next day)" in history


def test_staff_cant_open_a_resource_round_the_clock(admin_client, organisation):
    response = admin_client.post(
        reverse("admin:bookings_resource_add"), _resource_form(organisation, ("4", "09:00", "09:00"))
    )
    assert response.status_code == 200
    assert "Closing time can&#x27;t be the same as opening time" in page(response)
    assert not Resource.objects.filter(name="Cellar").exists()


# ---------------------------------------------------------------------------------------------
# A customer books the time after midnight, under its own day


@pytest.fixture
def late_night(tasting):
    """Open Mondays 18:30–02:30, seen from a Monday morning a week before."""
    open_on(tasting, MONDAY.weekday(), datetime.time(18, 30), datetime.time(2, 30))
    with time_machine.travel(datetime.datetime(2027, 2, 22, 9, tzinfo=UTC), tick=False):
        yield tasting


def test_a_customer_books_half_past_midnight_under_the_day_it_starts_on(sign_in, customer, late_night):
    organisation = late_night.organisation
    client = sign_in(customer)
    at_half_past_midnight = url(
        "book_details", organisation, service_id=late_night.pk, day=TUESDAY, time=datetime.time(0, 30)
    )

    days = page(client.get(url("book_days", organisation, service_id=late_night.pk)))
    assert url("book_times", organisation, service_id=late_night.pk, day=TUESDAY) in days
    monday = page(client.get(url("book_times", organisation, service_id=late_night.pk, day=MONDAY)))
    assert "23:30 to 00:30 the next day" in monday and "/0030/" not in monday
    tuesday = page(client.get(url("book_times", organisation, service_id=late_night.pk, day=TUESDAY)))
    assert "00:30 to 01:30</a>" in tuesday and at_half_past_midnight in tuesday

    assert client.get(at_half_past_midnight).status_code == 200
    assert client.post(at_half_past_midnight, {"places": "1", "note": ""}).status_code == 302
    check = page(client.get(url("book_check", organisation)))
    assert "00:30 to 01:30 (Europe/London time)" in check
    response = confirm(client, organisation)

    booking = Booking.objects.get(service=late_night)
    assert response.status_code == 302 and response["Location"].endswith(f"/{booking.reference}/")
    assert booking.slot_starts_at == at(TUESDAY, 0, 30) and booking.slot_ends_at == at(TUESDAY, 1, 30)
    assert (booking.starts_on, booking.ends_on) == (TUESDAY, TUESDAY)
    tuesday = page(client.get(url("book_times", organisation, service_id=late_night.pk, day=TUESDAY)))
    assert at_half_past_midnight not in tuesday and "01:30 to 02:30" in tuesday


def test_the_last_slot_of_the_evening_shows_it_ends_the_next_day_when_booked(
    sign_in, customer, late_night, admin_client
):
    organisation = late_night.organisation
    client = sign_in(customer)
    client.post(
        url("book_details", organisation, service_id=late_night.pk, day=MONDAY, time=datetime.time(23, 30)),
        {"places": "1"},
    )
    assert "23:30 to 00:30 the next day (Europe/London time)" in page(client.get(url("book_check", organisation)))
    confirm(client, organisation)

    booking = Booking.objects.get(service=late_night)
    assert (booking.starts_on, booking.ends_on) == (MONDAY, TUESDAY)
    detail = page(client.get(url("detail", organisation, reference=booking.reference)))
    assert "23:30 to 00:30 the next day" in detail
    assert "23:30 to 00:30 the next day" in page(client.get(url("list", organisation)))
    staff_page = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert "01 Mar 2027 23:30–00:30 the next day (Europe/London)" in staff_page
