import datetime
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingAddOnFactory, BookingFactory
from tests.factories import CustomerFactory


def _grow(customer, count):
    """`count` bookings of the customer (half past, half upcoming), each with attendees and add-ons."""
    today = timezone.localdate()
    for n in range(count):
        starts_on = today + datetime.timedelta(days=(10 + n) if n % 2 else -(10 + n))
        booking = BookingFactory(organisation=customer.organisation, starts_on=starts_on)
        AttendeeFactory(booking=booking, email=customer.email)
        AttendeeFactory.create_batch(2, booking=booking)
        BookingAddOnFactory(booking=booking)


def test_lists_upcoming_and_past_bookings_of_the_customer_only(sign_in, customer, make_booking, other_organisation):
    today = timezone.localdate()
    make_booking(customer.organisation, customer.email, title="Next trip", starts_on=today + datetime.timedelta(2))
    make_booking(customer.organisation, customer.email, title="Ongoing trip", starts_on=today - datetime.timedelta(1))
    make_booking(customer.organisation, customer.email, title="Old trip", starts_on=today - datetime.timedelta(30))
    make_booking(customer.organisation, title="Someone else's trip")
    make_booking(other_organisation, customer.email, title="Trip elsewhere")
    BookingFactory(organisation=customer.organisation, title="Main contact trip", main_contact_email=customer.email)

    response = sign_in(customer).get(reverse("bookings:list", kwargs={"org": customer.organisation.slug}))

    assert response.status_code == 200
    assert [b.title for b in response.context["upcoming"]] == ["Ongoing trip", "Next trip"]
    assert [b.title for b in response.context["past"]] == ["Old trip"]
    page = response.content.decode()
    upcoming_part, past_part = page.split('id="past-heading"')
    assert "Next trip" in upcoming_part and "Old trip" in past_part
    for absent in ("Someone else", "Trip elsewhere", "Main contact trip"):
        assert absent not in page


def test_today_is_the_organisations_day_not_the_servers(sign_in, customer, make_booking):
    """Los Angeles, 17:00 on 10 June: already 11 June in UTC. A trip of 10 June is still today's, not past."""
    organisation = customer.organisation
    organisation.time_zone = "America/Los_Angeles"
    organisation.save()
    make_booking(organisation, customer.email, title="Harbour tour", starts_on=datetime.date(2027, 6, 10))
    evening = datetime.datetime(2027, 6, 11, 0, tzinfo=datetime.UTC)

    with time_machine.travel(evening, tick=False):
        response = sign_in(customer).get(reverse("bookings:list", kwargs={"org": organisation.slug}))

    assert [b.title for b in response.context["upcoming"]] == ["Harbour tour"]
    assert list(response.context["past"]) == []


def test_a_booking_with_several_matching_attendees_is_listed_once(sign_in, customer, make_booking):
    make_booking(customer.organisation, customer.email, customer.email)
    response = sign_in(customer).get(reverse("bookings:list", kwargs={"org": customer.organisation.slug}))
    assert len(response.context["upcoming"]) == 1


def test_empty_list_says_so(sign_in, customer):
    response = sign_in(customer).get(reverse("bookings:list", kwargs={"org": customer.organisation.slug}))
    assert "No upcoming bookings." in response.content.decode()
    assert "No past bookings." in response.content.decode()


def test_past_bookings_are_paginated(sign_in, customer, make_booking):
    today = timezone.localdate()
    for n in range(25):
        make_booking(customer.organisation, customer.email, starts_on=today - datetime.timedelta(days=100 + n))
    client = sign_in(customer)
    url = reverse("bookings:list", kwargs={"org": customer.organisation.slug})
    first = client.get(url)
    assert len(first.context["past"].object_list) == 20
    assert 'href="?page=2" rel="next">Older →</a>' in first.content.decode()
    second = client.get(url, {"page": 2})
    assert len(second.context["past"].object_list) == 5
    assert 'href="?page=1" rel="prev">← Newer</a>' in second.content.decode()


def test_upcoming_bookings_have_pages_of_their_own(sign_in, customer, make_booking):
    """However many bookings lie ahead, a page shows 20, soonest first; the past list keeps its own page."""
    today = timezone.localdate()
    for n in range(25):
        make_booking(customer.organisation, customer.email, title=f"Ahead {n}", starts_on=today + timedelta(days=n))
    _past_trips(customer, make_booking, 25)
    client = sign_in(customer)
    url = reverse("bookings:list", kwargs={"org": customer.organisation.slug})

    first = client.get(url)
    assert [b.title for b in first.context["upcoming"].object_list] == [f"Ahead {n}" for n in range(20)]
    assert '<a href="?upcoming=2">Later →</a>' in first.content.decode()
    assert '<nav class="pagination" aria-label="Pages of upcoming bookings">' in first.content.decode()

    second = client.get(url, {"upcoming": 2, "page": 2})
    assert [b.title for b in second.context["upcoming"].object_list] == [f"Ahead {n}" for n in range(20, 25)]
    assert [b.title for b in second.context["past"].object_list] == [f"Trip {n}" for n in range(20, 25)]
    html = second.content.decode()
    # Each list's links change its own page only.
    assert '<a href="?upcoming=1&amp;page=2">← Sooner</a>' in html
    assert 'href="?upcoming=2&amp;page=1" rel="prev">← Newer</a>' in html


def _past_trips(customer, make_booking, count):
    today = timezone.localdate()
    for n in range(count):
        make_booking(
            customer.organisation, customer.email, title=f"Trip {n}", starts_on=today - timedelta(days=100 + n)
        )


def test_a_page_of_past_bookings_and_their_count_are_one_query(sign_in, customer, make_booking):
    _past_trips(customer, make_booking, 25)
    client = sign_in(customer)
    url = reverse("bookings:list", kwargs={"org": customer.organisation.slug})
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url, {"page": 2})
    past_queries = [q["sql"] for q in queries.captured_queries if '"ends_on" <' in q["sql"]]
    assert len(past_queries) == 1 and "OVER" in past_queries[0]
    page = second.context["past"]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (2, 25, 2)
    assert [b.title for b in page.object_list] == [f"Trip {n}" for n in range(20, 25)]


@pytest.mark.parametrize(
    ("asked", "shown", "first_title"),
    [
        ("3", 2, "Trip 20"),  # past the end: the last page, as Django's paginator serves it
        (str(10**30), 2, "Trip 20"),  # further than any offset the database holds
        ("0", 2, "Trip 20"),
        ("-1", 2, "Trip 20"),
        ("two", 1, "Trip 0"),  # not a number: the first page
        ("", 1, "Trip 0"),
        ("2.0", 1, "Trip 0"),
    ],
)
def test_a_page_number_out_of_range_or_not_a_number_gets_the_page_djangos_paginator_gives(
    sign_in, customer, make_booking, asked, shown, first_title
):
    _past_trips(customer, make_booking, 25)
    response = sign_in(customer).get(
        reverse("bookings:list", kwargs={"org": customer.organisation.slug}), {"page": asked}
    )
    page = response.context["past"]
    assert (page.number, page.paginator.count) == (shown, 25)
    assert page.object_list[0].title == first_title


def test_a_full_last_page_of_past_bookings_has_no_next_page(sign_in, customer, make_booking):
    _past_trips(customer, make_booking, 40)
    response = sign_in(customer).get(reverse("bookings:list", kwargs={"org": customer.organisation.slug}), {"page": 2})
    page = response.context["past"]
    assert len(page.object_list) == 20 and not page.has_next()
    assert "Trip 39" in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, organisation):
    response = client.get(reverse("bookings:list", kwargs={"org": organisation.slug}))
    assert response.status_code == 302
    assert "/sign-in/?next=" in response.url


def test_list_queries_stay_constant_as_bookings_grow(sign_in, customer, django_assert_max_num_queries):
    client = sign_in(customer)
    url = reverse("bookings:list", kwargs={"org": customer.organisation.slug})
    _grow(customer, 1)
    with django_assert_max_num_queries(6) as few:
        assert client.get(url).status_code == 200
    _grow(customer, 29)
    with django_assert_max_num_queries(6) as many:
        response = client.get(url)
    assert len(response.context["upcoming"]) + len(response.context["past"].object_list) == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_booking_page_queries_stay_constant_as_data_grows(sign_in, customer, django_assert_max_num_queries):
    client = sign_in(customer)
    _grow(customer, 1)
    booking = customer.organisation.bookings.get()
    url = reverse("bookings:detail", kwargs={"org": customer.organisation.slug, "reference": booking.reference})
    with django_assert_max_num_queries(6) as few:
        assert client.get(url).status_code == 200
    _grow(customer, 29)
    AttendeeFactory.create_batch(30, booking=booking)
    AddOnFactory.create_batch(30, organisation=customer.organisation)
    for _ in range(10):
        BookingAddOnFactory(booking=booking)
    with django_assert_max_num_queries(6) as many:
        response = client.get(url)
    assert len(response.context["booked_add_ons"]) == 11
    assert len(response.context["offered_add_ons"]) == 30 + 29
    assert len(many.captured_queries) == len(few.captured_queries)


def test_home_shows_the_next_three_upcoming_bookings(sign_in, customer, make_booking, django_assert_max_num_queries):
    today = timezone.localdate()
    for n in range(5):
        make_booking(customer.organisation, customer.email, title=f"Trip {n}", starts_on=today + datetime.timedelta(n))
    make_booking(customer.organisation, customer.email, title="Old trip", starts_on=today - datetime.timedelta(30))
    client = sign_in(customer)

    with django_assert_max_num_queries(6):
        response = client.get(f"/{customer.organisation.slug}/")

    page = response.content.decode()
    panels = {section.key: items for section, items in response.context["home_panels"]}
    assert [b.title for b in panels["bookings"]] == ["Trip 0", "Trip 1", "Trip 2"]
    assert "Trip 3" not in page and "Old trip" not in page
    assert reverse("bookings:list", kwargs={"org": customer.organisation.slug}) in page


def test_home_shows_no_bookings_of_others(sign_in, organisation, make_booking):
    make_booking(organisation, "alice@example.com", title="Alice's trip")
    bob = CustomerFactory(organisation=organisation, email="bob@example.com")
    response = sign_in(bob).get(f"/{organisation.slug}/")
    assert "Alice's trip" not in response.content.decode()
    assert "No upcoming bookings." in response.content.decode()


def test_each_status_has_its_badge_in_the_list_and_on_the_booking(sign_in, customer, make_booking):
    today = timezone.localdate()
    client = sign_in(customer)
    for n, (status, tone) in enumerate((("confirmed", "success"), ("provisional", "warning"), ("cancelled", "muted"))):
        booking = make_booking(customer.organisation, customer.email, starts_on=today + datetime.timedelta(n + 1))
        Booking.objects.filter(pk=booking.pk).update(status=status)
        badge = f'<span class="badge badge-{tone}">{status.capitalize()}</span>'
        org = customer.organisation.slug
        assert badge in client.get(reverse("bookings:list", kwargs={"org": org})).content.decode()
        detail = reverse("bookings:detail", kwargs={"org": org, "reference": booking.reference})
        assert badge in client.get(detail).content.decode()
