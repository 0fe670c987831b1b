"""JSONRows: a few rows of another table read as one column, alike on PostgreSQL and SQLite (integers and text)."""

import pytest
from django.db.models import OuterRef
from django.db.models.functions import Upper

from bookings.models import Attendee, Booking
from portal_core.expressions import JSONRows
from tests.bookings.factories import AttendeeFactory, BookingFactory


def _with_names(**filters):
    names = JSONRows(Attendee.objects.filter(booking=OuterRef("pk")).values_list("pk", "name", "booking"))
    return Booking.objects.annotate(names=names).get(**filters)


def test_each_row_comes_as_its_values_in_the_order_asked(organisation):
    booking = BookingFactory(organisation=organisation)
    # Text JSON must carry exactly: quotes, backslashes, markup, other scripts, emoji, a line break.
    written = ['Ann "the" Brave', "C:\\path", "<b>x</b>", "Zoë Ánh 李", "🙂", "two\nlines"]
    attendees = [AttendeeFactory(booking=booking, name=name) for name in written]
    AttendeeFactory(booking=BookingFactory(organisation=organisation), name="Elsewhere")

    rows = _with_names(pk=booking.pk).names

    assert sorted(rows) == [[attendee.pk, attendee.name, booking.pk] for attendee in attendees]


def test_no_rows_is_an_empty_list(organisation):
    booking = BookingFactory(organisation=organisation)
    assert _with_names(pk=booking.pk).names == []


def test_each_outer_row_reads_its_own(organisation):
    first, second = BookingFactory(organisation=organisation), BookingFactory(organisation=organisation)
    AttendeeFactory(booking=first, name="First's")
    AttendeeFactory(booking=second, name="Second's")
    names = JSONRows(Attendee.objects.filter(booking=OuterRef("pk")).values_list("name"))
    read = dict(Booking.objects.filter(pk__in=[first.pk, second.pk]).annotate(names=names).values_list("pk", "names"))
    assert read == {first.pk: [["First's"]], second.pk: [["Second's"]]}


def test_an_inner_query_that_matches_nothing_gives_no_rows(organisation):
    booking = BookingFactory(organisation=organisation)
    AttendeeFactory(booking=booking)
    nothing = JSONRows(Attendee.objects.filter(booking=OuterRef("pk"), pk__in=[]).values_list("pk"))
    assert Booking.objects.annotate(names=nothing).get(pk=booking.pk).names == []


@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Attendee.objects.filter(booking=OuterRef("pk")),  # rows as instances: no columns named
        lambda: Attendee.objects.annotate(shout=Upper("name")).values_list("pk", "shout"),  # computed: refused
    ],
)
def test_only_a_values_list_of_fields_is_read(queryset):
    with pytest.raises(TypeError, match="values_list"):
        JSONRows(queryset())
