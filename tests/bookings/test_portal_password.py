import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from portal_auth.models import AccessEvent, Customer
from tests.bookings.factories import AttendeeFactory
from tests.factories import CUSTOMER_PASSWORD

NEW_PASSWORD = "a long and quite memorable phrase"


@pytest.fixture
def attendee(customer, booking):
    return booking.attendees.get(email=customer.email)


def url(attendee):
    return reverse("admin:bookings_attendee_portal_password", args=[attendee.pk])


def test_the_page_is_reachable_from_the_attendee_change_page(admin_client, attendee):
    response = admin_client.get(reverse("admin:bookings_attendee_change", args=[attendee.pk]))
    assert url(attendee) in response.content.decode()
    page = admin_client.get(url(attendee))
    assert page.status_code == 200
    assert "already has a password" in page.content.decode()


def test_staff_set_the_password_which_ends_other_sessions_and_is_logged(
    admin_client, staff_user, customer, attendee, sign_in, mailoutbox, django_capture_on_commit_callbacks
):
    booking_url = reverse("bookings:detail", args=[customer.organisation.slug, attendee.booking.reference])
    customers_browser = sign_in(customer)
    assert customers_browser.get(booking_url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(attendee), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("admin:bookings_attendee_change", args=[attendee.pk])
    message = admin_client.get(response.url).content.decode()
    assert f"The portal password of {customer.email} is set. Their other portal sessions have ended." in message
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert not customer.check_password(CUSTOMER_PASSWORD)
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PASSWORD_RESET_BY_STAFF)
    assert (event.customer, event.staff_user) == (customer, staff_user)
    assert customers_browser.get(booking_url).status_code == 302  # that session has ended
    assert [m.to for m in mailoutbox] == [[customer.email]]  # told their password changed


def test_a_customer_is_created_for_an_attendee_without_one(admin_client, booking):
    attendee = AttendeeFactory(booking=booking, name="New Person", email="New.Person@Example.com")
    page = admin_client.get(url(attendee)).content.decode()
    assert "There is no portal account for new.person@example.com yet" in page
    assert not Customer.objects.filter(email="new.person@example.com").exists()  # not on GET

    admin_client.post(url(attendee), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    created = Customer.objects.get(organisation=booking.organisation, email="new.person@example.com")
    assert created.name == "New Person"
    assert created.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password1", "password2", "error"),
    [
        ("short phrase", "short phrase", "This password is too short"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords differ."),
        ("1q2w3e4r5t6y7u8i9o0p", "1q2w3e4r5t6y7u8i9o0p", "This password is too common"),
        ("iloveyouiloveyou", "iloveyouiloveyou", "This password is too easy to guess. It repeats itself"),
    ],
)
def test_the_customers_own_password_rules_apply(admin_client, customer, attendee, password1, password2, error):
    response = admin_client.post(url(attendee), {"password1": password1, "password2": password2})
    assert response.status_code == 200
    assert error in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.PASSWORD_RESET_BY_STAFF).exists()


def test_a_password_like_the_attendees_email_is_refused(admin_client, booking):
    attendee = AttendeeFactory(booking=booking, email="margaretthatcher@example.com")
    response = admin_client.post(
        url(attendee), {"password1": "margaretthatcher@example", "password2": "margaretthatcher@example"}
    )
    assert "too similar" in response.content.decode()
    assert not Customer.objects.filter(email="margaretthatcher@example.com").exists()


def test_staff_need_permission_to_change_attendees_and_customers(customer, attendee):
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client = Client()
    client.force_login(clerk)
    clerk.user_permissions.add(Permission.objects.get(codename="change_attendee"))
    assert client.get(url(attendee)).status_code == 403
    response = client.post(url(attendee), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)

    clerk.user_permissions.add(Permission.objects.get(codename="change_customer"))
    assert client.get(url(attendee)).status_code == 200


def test_anonymous_and_customers_are_sent_to_admin_login(client, sign_in, customer, attendee):
    for visitor in (client, sign_in(customer)):
        response = visitor.post(url(attendee), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert response.status_code == 302
        assert "/admin/login/" in response.url
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)


def test_the_form_needs_a_csrf_token(staff_user, customer, attendee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(url(attendee), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.check_password(CUSTOMER_PASSWORD)


def test_an_attendee_without_email_has_no_portal_password(admin_client, booking):
    attendee = AttendeeFactory(booking=booking, email="")
    assert admin_client.get(url(attendee)).status_code == 404
