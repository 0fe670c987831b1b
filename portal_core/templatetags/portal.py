"""Fast labels for lists. Django's |date goes through its format machinery (~45 µs a call),
which made date formatting a third of a 40-row page; the portal speaks English, so these write
the few formats it uses directly. Choice labels (|display) come from a dict built once."""

from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache

from django import template
from django.db.models import Model
from django.utils import timezone

register = template.Library()

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# The zone a page renders in, read once when it starts (portal_core.jinja.Template): Django's current zone is
# behind asgiref's Local, a few µs a read, and a thread page formats a date or two a message.
rendering_zone: ContextVar[tzinfo | None] = ContextVar("rendering_zone", default=None)


def in_current_zone[Moment: (date, datetime)](value: Moment) -> Moment:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return value.astimezone(rendering_zone.get() or timezone.get_current_timezone())
    return value


def _short_day(local: date) -> str:
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


@register.filter
def short_day(value: date | datetime | None) -> str:
    """'23 Dec 2026'."""
    return _short_day(in_current_zone(value)) if value else ""


@register.filter
def day(value: date | datetime | None) -> str:
    """'Wed 23 Dec 2026'."""
    if not value:
        return ""
    local = in_current_zone(value)
    return f"{_DAYS[local.weekday()]} {_short_day(local)}"


@register.filter
def moment(value: datetime | None) -> str:
    """'23 Dec 2026, 14:05', in the portal's time zone."""
    if not value:
        return ""
    local = in_current_zone(value)
    return f"{_short_day(local)}, {local.hour:02d}:{local.minute:02d}"


@register.filter
def iso(value: date | datetime | None) -> str:
    """For <time datetime="…">: the moment as stored (UTC), as Django's templates printed it."""
    return value.isoformat() if value else ""


@cache
def _choice_labels(model: type[Model], field_name: str) -> dict:
    return dict(model._meta.get_field(field_name).flatchoices)  # type: ignore[union-attr]


@register.filter
def display(instance: Model, field_name: str):
    """`{{ ticket|display:"priority" }}`: what `ticket.get_priority_display()` says. Django builds the choices'
    dict on every call (~30 µs); this builds it once per field."""
    return choice_label(type(instance), field_name, getattr(instance, field_name))


def choice_label(model: type[Model], field_name: str, value):
    """What an instance of `model` with `value` in `field_name` shows for it (get_FOO_display())."""
    return _choice_labels(model, field_name).get(value, value)
