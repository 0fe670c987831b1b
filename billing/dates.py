"""Membership periods: whole months or years from the day it started, kept to that day where the month has it."""

import calendar
import datetime


def months_added(anchor: datetime.date, months: int) -> datetime.date:
    """`anchor` moved by `months`, on the anchor's day or the month's last day if shorter (31 Jan → 28/29 Feb)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(anchor.day, last_day))


def period_end_after(*, started_on: datetime.date, period: str, after: datetime.date) -> datetime.date:
    """The first period end counted from `started_on` that falls after `after`."""
    step = 12 if period == "year" else 1
    months = ((after.year - started_on.year) * 12 + after.month - started_on.month) // step * step
    end = months_added(started_on, max(months, step))
    while end <= after:
        months += step
        end = months_added(started_on, months)
    return end
