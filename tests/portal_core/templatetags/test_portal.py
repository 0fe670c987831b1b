from datetime import UTC, date, datetime

from django.template.defaultfilters import date as django_date
from django.utils import timezone

from conversations.models import Channel, Conversation
from portal_core.templatetags.portal import day, display, iso, moment, short_day
from tickets.models import Ticket


def test_labels_match_djangos_own_formatting(settings):
    settings.TIME_ZONE = "Europe/London"
    timezone.activate("Europe/London")
    try:
        for value in (date(2026, 12, 23), date(2027, 1, 1), date(2026, 2, 28)):
            assert day(value) == django_date(value, "D j M Y")
            assert short_day(value) == django_date(value, "j M Y")
        summer = datetime(2026, 7, 4, 23, 30, tzinfo=UTC)  # 00:30 next day in London
        assert moment(summer) == django_date(timezone.localtime(summer), "j M Y, H:i") == "5 Jul 2026, 00:30"
        assert day(summer) == "Sun 5 Jul 2026"
    finally:
        timezone.deactivate()


def test_empty_values_render_nothing():
    assert day(None) == moment(None) == iso(None) == ""


def test_iso_for_time_elements():
    assert iso(date(2026, 12, 23)) == "2026-12-23"
    assert iso(datetime(2026, 12, 23, 9, 5, tzinfo=UTC)) == "2026-12-23T09:05:00+00:00"


def test_one_template_library_is_named_portal():
    # Django lets a later app's library of the same name win silently; `{% load portal %}` must mean these filters.
    from importlib.util import find_spec

    from django.apps import apps
    from django.template.backends.django import get_installed_libraries

    def has_portal_library(app_name: str) -> bool:
        return find_spec(f"{app_name}.templatetags") is not None and find_spec(f"{app_name}.templatetags.portal")

    owners = [config.name for config in apps.get_app_configs() if has_portal_library(config.name)]
    assert owners == ["portal_core"]
    assert get_installed_libraries()["portal"] == "portal_core.templatetags.portal"


def test_display_says_what_get_field_display_says():
    for priority in [*Ticket.Priority.values, "not-a-choice"]:
        ticket = Ticket(priority=priority)
        assert display(ticket, "priority") == ticket.get_priority_display()
    for channel in Channel.values:
        conversation = Conversation(channel=channel)
        assert display(conversation, "channel") == conversation.get_channel_display()
