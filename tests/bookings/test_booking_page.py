from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.bookings.factories import BookingFactory
from tests.factories import CustomerFactory


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
