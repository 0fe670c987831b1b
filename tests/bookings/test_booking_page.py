from urllib.parse import quote

import pytest
from django.urls import reverse

from bookings.selectors import get_booking_for
from portal_auth.access_log import LookRefused
from tests.bookings.factories import BookingFactory
from tests.factories import CustomerFactory
from tests.refusals import USER_AGENT, assert_look_refused, refused_looks


def detail_url(booking):
    return reverse("bookings:detail", kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def test_attendee_sees_booking_details_and_attendee_names_only(sign_in, customer, booking):
    response = sign_in(customer).get(detail_url(booking))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Lisbon city break" in page
    assert booking.reference in page
    assert "Confirmed" in page
    assert "Other Traveller" in page
    assert "other.traveller@example.com" not in page
    assert "main.contact@example.com" not in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_attendee_email_matches_whatever_its_case(sign_in, customer, make_booking):
    booking = make_booking(customer.organisation, customer.email.upper())
    assert sign_in(customer).get(detail_url(booking)).status_code == 200


def test_anonymous_visitor_is_sent_to_sign_in_and_back(client, customer, booking):
    response = client.get(detail_url(booking))
    assert response.status_code == 302
    sign_in_url = f"/{booking.organisation.slug}/sign-in/?next={quote(detail_url(booking), safe='')}"
    assert response.url == sign_in_url

    page = client.get(response.url)
    assert page.status_code == 200
    assert "Lisbon city break" not in page.content.decode()

    signed_in = client.post(
        response.url,
        {"email": customer.email, "password": "correct horse battery staple", "next": detail_url(booking)},
    )
    assert signed_in.status_code == 302
    assert signed_in.url == detail_url(booking)
    assert client.get(signed_in.url).status_code == 200


def test_anonymous_redirect_does_not_tell_whether_the_booking_exists(client, organisation):
    response = client.get(f"/{organisation.slug}/bookings/no-such-reference/")
    assert response.status_code == 302
    assert "/sign-in/?next=" in response.url


def test_main_contact_email_alone_does_not_open_the_booking(sign_in, organisation, make_booking):
    main_contact = CustomerFactory(organisation=organisation, email="main.contact@example.com")
    booking = make_booking(organisation)  # main.contact@example.com is the main contact, not an attendee

    response = sign_in(main_contact).get(detail_url(booking))

    assert response.status_code == 403
    page = response.content.decode()
    assert "This booking is not linked to main.contact@example.com" in page
    assert booking.title not in page
    assert f'action="/{organisation.slug}/sign-out/"' in page
    assert f'name="next" value="{detail_url(booking)}"' in page


def test_sign_in_as_someone_else_signs_out_and_returns_to_the_booking(sign_in, organisation, make_booking):
    stranger = CustomerFactory(organisation=organisation)
    booking = make_booking(organisation)
    client = sign_in(stranger)

    response = client.post(f"/{organisation.slug}/sign-out/", {"next": detail_url(booking)})

    assert response.status_code == 302
    assert response.url == f"/{organisation.slug}/sign-in/?next={quote(detail_url(booking), safe='')}"
    assert client.get(detail_url(booking)).status_code == 302  # signed out: sent to sign in again


def test_sign_in_as_someone_else_needs_a_post(sign_in, customer, booking):
    url = f"/{booking.organisation.slug}/sign-out/"
    client = sign_in(customer)
    assert client.get(url)["Location"] == f"/{booking.organisation.slug}/"
    assert client.get(detail_url(booking)).status_code == 200  # still signed in


def test_another_organisations_reference_is_not_found(sign_in, customer, other_organisation, make_booking):
    foreign = make_booking(other_organisation, customer.email)
    url = reverse("bookings:detail", kwargs={"org": customer.organisation.slug, "reference": foreign.reference})
    assert sign_in(customer).get(url).status_code == 404


def test_unknown_reference_is_not_found(sign_in, customer):
    assert sign_in(customer).get(f"/{customer.organisation.slug}/bookings/nope/").status_code == 404


@pytest.fixture
def open_organisation(organisation):
    organisation.requires_sign_in = False
    organisation.save()
    return organisation


def test_without_sign_in_the_link_alone_opens_the_booking_read_only(client, open_organisation, make_booking, add_on):
    booking = make_booking(open_organisation, "alice@example.com", title="Alps walking week")

    response = client.get(detail_url(booking))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Alps walking week" in page
    assert "alice@example.com" not in page
    assert "Airport transfer" in page
    assert 'name="add_on"' not in page  # booking add-ons needs a signed-in attendee
    assert 'type="file"' not in page
    assert f"/sign-in/?next={quote(detail_url(booking), safe='')}" in page


def test_without_sign_in_a_signed_in_stranger_may_only_read(sign_in, open_organisation, make_booking, add_on):
    stranger = CustomerFactory(organisation=open_organisation)
    booking = make_booking(open_organisation, "alice@example.com")

    response = sign_in(stranger).get(detail_url(booking))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"not linked to {stranger.email}" in page
    assert 'name="add_on"' not in page


def test_without_sign_in_another_organisations_reference_is_still_not_found(client, open_organisation):
    foreign = BookingFactory()
    url = reverse("bookings:detail", kwargs={"org": open_organisation.slug, "reference": foreign.reference})
    assert client.get(url).status_code == 404


def test_a_session_of_another_organisation_does_not_count(sign_in, customer, other_organisation, make_booking):
    booking = make_booking(other_organisation, customer.email)
    response = sign_in(customer).get(detail_url(booking))
    assert response.status_code == 302
    assert f"/{other_organisation.slug}/sign-in/" in response.url


def shortened(reference):
    return f"booking {reference[:6]}…"


def test_a_look_at_a_booking_the_customer_is_not_on_is_logged_without_its_whole_reference(
    sign_in, organisation, make_booking
):
    stranger = CustomerFactory(organisation=organisation)
    booking = make_booking(organisation, "alice@example.com", title="Alps walking week")

    response = sign_in(stranger).get(detail_url(booking), HTTP_USER_AGENT=USER_AGENT)

    event = assert_look_refused(response, customer=stranger, what=shortened(booking.reference), status=403)
    assert "Alps walking week" not in response.content.decode()
    # Where the link alone opens a booking, its reference is the key to it: the log keeps only its start.
    assert booking.reference not in event.reason


def test_an_unknown_reference_is_a_refused_look_too(sign_in, customer):
    response = sign_in(customer).get(f"/{customer.organisation.slug}/bookings/nope/", HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=customer, what="booking nope")


def test_another_organisations_reference_is_logged_as_a_refused_look(
    sign_in, customer, other_organisation, make_booking
):
    foreign = make_booking(other_organisation, customer.email, title="Elsewhere")
    url = reverse("bookings:detail", kwargs={"org": customer.organisation.slug, "reference": foreign.reference})

    response = sign_in(customer).get(url, HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=customer, what=shortened(foreign.reference), hidden="Elsewhere")


def test_without_sign_in_an_unknown_reference_is_logged_as_an_anonymous_probe(client, open_organisation):
    response = client.get(f"/{open_organisation.slug}/bookings/guessed-reference/", HTTP_USER_AGENT=USER_AGENT)

    assert_look_refused(response, customer=None, what="booking guesse…")


@pytest.mark.parametrize("reference", ["abc%00def", "%00", "abc%0Adef", "x" * 33])
def test_a_reference_that_cannot_be_one_is_not_found_before_any_query(
    sign_in, customer, booking, reference, django_assert_max_num_queries
):
    client = sign_in(customer)

    # The session and the customer, then the refusal: its two rate-limit counters and its log entry.
    with django_assert_max_num_queries(5):
        response = client.get(f"/{customer.organisation.slug}/bookings/{reference}/", HTTP_USER_AGENT=USER_AGENT)

    # A guard in front of the view may answer 400 first; what matters is no error and nothing shown.
    assert response.status_code in (400, 404)
    assert "Lisbon city break" not in response.content.decode()


def test_a_reference_holding_a_nul_byte_is_refused_without_a_query(customer, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(LookRefused) as refusal:
        get_booking_for(customer, "ab\x00cdefgh")

    assert refusal.value.what == "booking ab\x00cde…"  # the access log stores it readably (test_access_log)


def test_a_reference_holding_a_nul_byte_is_refused_where_the_link_alone_opens_a_booking(client, open_organisation):
    response = client.get(f"/{open_organisation.slug}/bookings/abc%00def/")

    assert response.status_code in (400, 404)


def test_the_attendee_leaves_no_refused_look(sign_in, customer, booking):
    assert sign_in(customer).get(detail_url(booking)).status_code == 200
    assert refused_looks() == 0


def test_a_non_attendees_add_on_booking_is_a_refused_look(sign_in, organisation, make_booking, add_on):
    stranger = CustomerFactory(organisation=organisation)
    booking = make_booking(organisation, "alice@example.com")
    kwargs = {"org": organisation.slug, "reference": booking.reference, "add_on_id": add_on.pk}
    url = reverse("bookings:add_on_book", kwargs=kwargs)

    response = sign_in(stranger).post(
        url, {"price": add_on.price, "currency": add_on.currency}, HTTP_USER_AGENT=USER_AGENT
    )

    assert_look_refused(response, customer=stranger, what=shortened(booking.reference), status=403)
    assert not booking.booked_add_ons.exists()
