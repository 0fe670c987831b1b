"""When a service can be booked: its resource's opening hours and exceptions, in the organisation's time zone,
within the service's bookable window, less what is booked on that resource.

A resource serves one slot at a time: a booking of another service, or of this service at another time, that
overlaps a slot closes it; bookings of this service at the same start share it up to the service's capacity.

A window closing at or before its opening time closes the next day (18:00–02:00; 00:00 is midnight). A slot belongs
to the day it starts on, as the portal's addresses (day and HHMM) name it: a day's slots include those after midnight
of the day before's windows, and a date closed closes its own windows, after midnight too, not the day before's.

Three queries for any number of days, whatever the number of bookings: the resource's weekly hours, its
exceptions from the day before the range, and its bookings reaching into the range's slots (index
`booking_resource_start_idx`; a booking can start at most MAX_SERVICE_DURATION before the range and still reach
into it, and a slot of the range's last day can end the day after).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

from bookings.models import MAX_SERVICE_DURATION, AvailabilityException, Booking, OpeningHours, Service

UTC = datetime.UTC

type Window = tuple[datetime.time, datetime.time]


@dataclass(frozen=True)
class Slot:
    starts_at: datetime.datetime  # aware, in the organisation's zone
    ends_at: datetime.datetime
    places_left: int

    @property
    def key(self) -> str:
        """The slot's start as it appears in the portal's addresses: the local time, HHMM."""
        return f"{self.starts_at:%H%M}"

    @property
    def span(self) -> str:
        """'10:00 to 11:00' in local time; across a change of the clocks, naming each side's offset ('01:00 BST to
        01:00 GMT' in the hour they repeat), as the wall times alone would read as no time at all, or the wrong one."""
        start, end = self.starts_at, self.ends_at
        shown = "%H:%M %Z" if start.utcoffset() != end.utcoffset() else "%H:%M"
        next_day = " the next day" if end.date() != start.date() else ""
        return f"{start:{shown}} to {end:{shown}}{next_day}"


@dataclass(frozen=True)
class _Taken:
    booking_id: int
    service_id: int | None
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    places: int


def day_windows(
    day: datetime.date, weekly: dict[int, list[Window]], exceptions: list[AvailabilityException]
) -> list[Window]:
    """The opening windows of `day`: its weekday's hours unless closed on that date, plus any extra hours."""
    closed = any(exception.kind == AvailabilityException.Kind.CLOSED for exception in exceptions)
    windows = [] if closed else list(weekly.get(day.weekday(), []))
    windows += [
        (exception.opens, exception.closes)
        for exception in exceptions
        if exception.kind == AvailabilityException.Kind.EXTRA and exception.opens and exception.closes
    ]
    return sorted(windows)


def window_wall_times(day: datetime.date, window: Window) -> tuple[datetime.datetime, datetime.datetime]:
    """A window of `day` as local wall times: one closing at or before its opening time closes the next day."""
    opens, closes = window
    closes_on = day + datetime.timedelta(days=1) if closes <= opens else day
    return datetime.datetime.combine(day, opens), datetime.datetime.combine(closes_on, closes)


def candidate_starts(
    day: datetime.date, windows: list[Window], duration: datetime.timedelta, zone: ZoneInfo
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """Slots one after another from each opening time of `day`'s windows (past midnight too, for a window that runs
    into the next day), as (start, end) in `zone`; the end is `duration` later in elapsed time, and no later than the
    window closes. A wall time the clocks skip (spring forward) holds no slot; one they repeat (fall back) holds one,
    at its first occurrence."""
    slots = []
    for window in windows:
        wall, last = window_wall_times(day, window)
        # As instants: on the night the clocks go forward, a window is an hour shorter than its wall times say.
        closes = last.replace(tzinfo=zone).astimezone(UTC)
        while wall + duration <= last:
            start = wall.replace(tzinfo=zone)
            end = start.astimezone(UTC) + duration
            if start.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall and end <= closes:
                slots.append((start, end.astimezone(zone)))
            wall += duration
    return sorted(set(slots))


def service_slots(
    service: Service,
    days: list[datetime.date],
    *,
    now: datetime.datetime,
    ignoring: int | None = None,
    free_only: bool = True,
) -> dict[datetime.date, list[Slot]]:
    """Each day's slots of `service` within its bookable window, with the places left (free ones only, unless
    `free_only` is False). `ignoring` leaves one booking out of what is taken (the one being rescheduled).

    `service` comes with its organisation (for the time zone).
    """
    if not days:
        return {}
    zone = service.organisation.zone
    first, last = min(days), max(days)
    day_before = first - datetime.timedelta(days=1)
    range_start = datetime.datetime.combine(first, datetime.time.min, tzinfo=zone)
    range_end = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)

    weekly: dict[int, list[Window]] = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.filter(resource_id=service.resource_id).values_list(
        "weekday", "opens", "closes"
    ):
        weekly[weekday].append((opens, closes))
    exceptions: dict[datetime.date, list[AvailabilityException]] = defaultdict(list)
    for exception in AvailabilityException.objects.filter(
        resource_id=service.resource_id, date__gte=day_before, date__lte=last
    ).only("date", "kind", "opens", "closes"):
        exceptions[exception.date].append(exception)
    taken = [
        _Taken(pk, service_id, cast(datetime.datetime, starts), cast(datetime.datetime, ends), places)
        for pk, service_id, starts, ends, places in Booking.objects.filter(
            resource_id=service.resource_id,
            slot_starts_at__gte=range_start - MAX_SERVICE_DURATION,
            slot_starts_at__lt=range_end + service.duration,
            slot_ends_at__gt=range_start,
        )
        .exclude(status=Booking.Status.CANCELLED)
        .values_list("pk", "service_id", "slot_starts_at", "slot_ends_at", "places")
        if pk != ignoring
    ]

    earliest, latest = now + service.min_notice, now + service.max_advance
    result: dict[datetime.date, list[Slot]] = {day: [] for day in sorted(days)}
    opening_days = sorted({*days, *(day - datetime.timedelta(days=1) for day in days)})
    candidates = {
        slot
        for opening_day in opening_days
        for slot in candidate_starts(
            opening_day, day_windows(opening_day, weekly, exceptions[opening_day]), service.duration, zone
        )
    }
    for start, end in sorted(candidates):
        if start.date() not in result or not earliest <= start <= latest:
            continue
        left = _places_left(service, start, end, taken)
        if left > 0 or not free_only:
            result[start.date()].append(Slot(start, end, left))
    return result


def _places_left(service: Service, start: datetime.datetime, end: datetime.datetime, taken: list[_Taken]) -> int:
    booked = 0
    # As an instant: a wall time the clocks repeat is never == to any time of another zone (PEP 495), so the same
    # class's booking at 01:30 on that night would count as something else holding the resource.
    instant = start.astimezone(datetime.UTC)
    for other in taken:
        if other.starts_at < end and other.ends_at > start:
            if other.service_id != service.pk or other.starts_at != instant:
                return 0  # the resource is busy with something else
            booked += other.places
    return max(service.capacity - booked, 0)


# Far enough either way for any booking; beyond, a day's arithmetic (the week around it, the day after) would run off
# the calendar.
FIRST_DAY, LAST_DAY = datetime.date(1900, 1, 1), datetime.date(9000, 12, 31)


def is_plausible_day(day: datetime.date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def plausible_day(value: str) -> datetime.date:
    """The ISO date `value`, between FIRST_DAY and LAST_DAY; a ValueError otherwise."""
    day = datetime.date.fromisoformat(value)
    if not is_plausible_day(day):
        raise ValueError(f"{value} is no day a booking could be on")
    return day


def bookable_days(service: Service, *, now: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The first and last local dates on which `service` could be booked now."""
    zone = service.organisation.zone
    return (now + service.min_notice).astimezone(zone).date(), (now + service.max_advance).astimezone(zone).date()


def week_around(day: datetime.date) -> list[datetime.date]:
    return [day + datetime.timedelta(days=offset) for offset in range(-3, 4)]


def nearest_free_slots(
    service: Service,
    wanted: datetime.datetime,
    *,
    now: datetime.datetime,
    count: int = 3,
    ignoring: int | None = None,
    places: int = 1,
) -> list[Slot]:
    """The free slots with room for `places` closest in time to `wanted` (the week around it), soonest first."""
    week = week_around(wanted.astimezone(service.organisation.zone).date())
    free = service_slots(service, week, now=now, ignoring=ignoring)
    return nearest_of(with_room_for(places, free), wanted, count=count)


def with_room_for(places: int, slots: dict[datetime.date, list[Slot]]) -> dict[datetime.date, list[Slot]]:
    """Of `slots` (by day), those with at least `places` places left."""
    return {day: [slot for slot in day_slots if slot.places_left >= places] for day, day_slots in slots.items()}


def nearest_of(slots: dict[datetime.date, list[Slot]], wanted: datetime.datetime, *, count: int = 3) -> list[Slot]:
    """Of `slots` (free ones, by day), the `count` closest in time to `wanted`, soonest first."""
    free = [slot for day_slots in slots.values() for slot in day_slots if slot.starts_at != wanted]
    closest = sorted(free, key=lambda slot: abs(slot.starts_at - wanted))[:count]
    return sorted(closest, key=lambda slot: slot.starts_at)
