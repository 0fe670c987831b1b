"""The calendar file (.ics) sent with a booking's emails: one event in the organisation's time zone.

The event's UID is the booking's, and its SEQUENCE rises with each change of time, so a calendar that holds
it replaces it when rescheduled and removes it when cancelled (METHOD:CANCEL).
"""

import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.utils import timezone

from bookings.models import Booking
from outbox.services import EmailAttachment


def _calendar_time(moment: datetime.datetime, zone: ZoneInfo) -> datetime.datetime:
    """`moment` as the event writes it: the organisation's wall time, unless the clocks show that wall time twice
    that night (RFC 5545 reads a repeated wall time as its first occurrence), in UTC then."""
    local = moment.astimezone(zone)
    repeated = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    return moment.astimezone(datetime.UTC) if repeated else local


def booking_calendar(booking: Booking, *, url: str) -> EmailAttachment:
    organisation = booking.organisation
    zone = organisation.zone
    cancelled = booking.status == Booking.Status.CANCELLED
    assert booking.slot_starts_at and booking.slot_ends_at  # only bookings of a service at a time

    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{organisation.public_name}//Customer portal//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = icalendar.Event()
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    event.add("uid", f"booking-{booking.reference}@{domain}")
    # Required in a PUBLISH and a CANCEL (RFC 5546): the business, at the address that answers for it.
    organizer = icalendar.vCalAddress(
        f"mailto:{organisation.support_email or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}"
    )
    organizer.params["cn"] = icalendar.vText(organisation.public_name)
    event.add("organizer", organizer)
    event.add("sequence", booking.calendar_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", _calendar_time(booking.slot_starts_at, zone))
    event.add("dtend", _calendar_time(booking.slot_ends_at, zone))
    event.add("summary", f"{booking.title} ({organisation.public_name})")
    event.add("description", f"Reference {booking.reference}\n{url}")
    event.add("url", url)
    if booking.resource is not None:
        event.add("location", booking.resource.name)
    event.add("status", "CANCELLED" if cancelled else "TENTATIVE" if booking.status == "provisional" else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return EmailAttachment(
        filename="booking.ics",
        content=calendar.to_ical(),
        content_type=f"text/calendar; charset=utf-8; method={'CANCEL' if cancelled else 'PUBLISH'}",
    )
