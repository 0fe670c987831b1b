"""The portal_auth admin: organisations' session lifetime, and the access events list."""

import datetime
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Membership
from bookings.models import Booking
from portal_auth.models import AccessEvent, ApiCall, Customer, Organisation, Portal
from tests.billing.factories import PlanFactory
from tests.bookings.factories import BookingAddOnFactory, BookingFactory, ServiceFactory
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory, primary_portal_of
from tests.portal_auth.doors.test_external_sign_on_admin import change_url, organisation_form
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket


@pytest.mark.parametrize(
    ("lifetime", "message"),
    [
        ("0:59:59", "A portal session lasts at least one hour."),
        ("0:00:00", "A portal session lasts at least one hour."),
        ("-1 00:00:00", "A portal session lasts at least one hour."),
        ("30 00:00:01", "A portal session lasts at most 30 days."),
        ("999999999 00:00:00", "A portal session lasts at most 30 days."),
    ],
)
def test_staff_cannot_set_a_session_lifetime_out_of_bounds(admin_client, organisation, lifetime, message):
    response = admin_client.post(change_url(organisation), organisation_form(organisation, session_lifetime=lifetime))

    assert response.status_code == 200
    assert message in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.session_lifetime == timedelta(days=1)


@pytest.mark.parametrize("lifetime", [timedelta(hours=1), timedelta(days=30)])
def test_staff_may_set_a_session_lifetime_at_either_bound(admin_client, organisation, lifetime):
    text = f"{lifetime.days} {lifetime.seconds // 3600:02}:00:00"

    response = admin_client.post(change_url(organisation), organisation_form(organisation, session_lifetime=text))

    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.session_lifetime == lifetime


def test_refused_looks_are_listed_among_access_events_and_filtered_by_kind(admin_client, organisation):
    prober = CustomerFactory(organisation=organisation, email="prober@example.com")
    AccessEvent.objects.create(
        organisation=organisation, customer=prober, email=prober.email, kind="access_refused", reason="ticket 42"
    )
    AccessEvent.objects.create(organisation=organisation, kind=AccessEvent.Kind.SIGN_IN, email="someone@example.com")

    page = admin_client.get("/admin/portal_auth/accessevent/").content.decode()
    assert "Access refused" in page  # offered as a filter, and shown on its row
    assert 'href="?kind__exact=access_refused"' in page

    filtered = admin_client.get("/admin/portal_auth/accessevent/", {"kind__exact": "access_refused"})
    listed = filtered.content.decode()
    assert filtered.status_code == 200
    assert "prober@example.com" in listed and "ticket 42" in listed
    assert "someone@example.com" not in listed


def test_staff_find_every_refused_look_at_one_thing_by_searching(admin_client, organisation):
    for what in ("ticket 42", "ticket 421", "conversation 42"):
        AccessEvent.objects.create(organisation=organisation, kind="access_refused", reason=what)

    listed = admin_client.get("/admin/portal_auth/accessevent/", {"q": "ticket 42"}).content.decode()

    assert "ticket 42<" in listed and "ticket 421" in listed
    assert "conversation 42" not in listed


def test_staff_see_every_door_as_a_checkbox_with_the_open_ones_ticked(admin_client, organisation):
    html = admin_client.get(change_url(organisation)).content.decode()

    for key in ("password", "access_link", "external_sign_on"):
        assert f'name="doors" value="{key}"' in html
    assert html.count('name="doors" value="password"') == 1
    assert 'value="password" id="id_doors_1" checked' in html
    assert 'value="external_sign_on" id="id_doors_0" checked' not in html


def test_staff_close_a_door_by_unticking_it(admin_client, organisation, client):
    response = admin_client.post(change_url(organisation), organisation_form(organisation, doors=["access_link"]))

    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.doors == ["access_link"]
    assert client.get(f"/{organisation.slug}/password/").status_code == 404
    listed = admin_client.get("/admin/portal_auth/organisation/").content.decode()
    assert "access link" in listed


def test_staff_cannot_open_a_door_that_does_not_exist(admin_client, organisation):
    response = admin_client.post(change_url(organisation), organisation_form(organisation, doors=["password", "magic"]))

    assert response.status_code == 200
    assert "Select a valid choice. magic is not one of the available choices." in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.doors == ["password", "access_link"]


@pytest.mark.parametrize(
    ("secret", "lookup"),
    [
        ("external_sign_on_secret", "external_sign_on_secret__lt"),
        ("external_sign_on_secret", "external_sign_on_secret__regex"),
        ("external_sign_on_previous_secret", "external_sign_on_previous_secret__startswith"),
    ],
)
def test_organisations_can_not_be_filtered_by_their_sign_on_secrets(staff_client_with, organisation, secret, lookup):
    organisation.rotate_external_sign_on_secret()
    organisation.rotate_external_sign_on_secret()
    organisation.save()
    viewer = staff_client_with("portal_auth.view_organisation")

    refused = viewer.get("/admin/portal_auth/organisation/", {lookup: getattr(organisation, secret)[:1]})
    listed = viewer.get("/admin/portal_auth/organisation/", {"slug": organisation.slug})

    assert refused.status_code == 400
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1


def test_customers_can_not_be_filtered_by_their_password_hash(staff_client_with, customer):
    viewer = staff_client_with("portal_auth.view_customer")

    refused = viewer.get("/admin/portal_auth/customer/", {"password__regex": "^" + customer.password[:3]})
    listed = viewer.get("/admin/portal_auth/customer/", {"email": customer.email})

    assert refused.status_code == 400
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1


def customer_change_url(customer):
    return f"/admin/portal_auth/customer/{customer.pk}/change/"


def test_a_customer_stays_in_their_organisation_and_out_of_its_portals(
    admin_client, sign_in, customer, other_organisation
):
    portal = sign_in(customer)
    other_portal = f"/{primary_portal_of(other_organisation).slug}/support/"
    page = admin_client.get(customer_change_url(customer))

    response = admin_client.post(
        customer_change_url(customer), {**admin_page_data(page), "organisation": other_organisation.pk}
    )

    assert 'name="organisation"' not in page.content.decode()
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.organisation != other_organisation
    assert portal.get(other_portal).status_code == 302  # sent to that portal's sign-in


def test_a_customer_can_not_be_given_the_email_of_another_customer_of_their_organisation(
    admin_client, customer, other_customer
):
    page = admin_client.get(customer_change_url(customer))

    response = admin_client.post(
        customer_change_url(customer), {**admin_page_data(page), "email": other_customer.email.upper()}
    )

    assert response.status_code == 200
    assert "customer_unique_email_per_organisation” is violated" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email != other_customer.email


def test_a_page_left_open_by_staff_keeps_the_email_and_name_the_customer_changed_meanwhile(admin_client, customer):
    page = admin_client.get(customer_change_url(customer))
    Customer.objects.filter(pk=customer.pk).update(email="new-address@example.com", name="Ana Confirmed")

    response = admin_client.post(customer_change_url(customer), {**admin_page_data(page), "external_id": "B-7"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.email, customer.name, customer.external_id) == ("new-address@example.com", "Ana Confirmed", "B-7")
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.EMAIL_CHANGED).exists()


@pytest.mark.parametrize("name", ["Alice\u202egnp.exe", "Ali\u200bce", "\ufeffAlice", "Alice\x07"])
def test_staff_cant_give_a_customer_a_name_with_hidden_characters(admin_client, customer, name):
    page = admin_client.get(customer_change_url(customer))

    response = admin_client.post(customer_change_url(customer), {**admin_page_data(page), "name": name})

    assert response.status_code == 200
    assert "The name can have no" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name != name


def test_staff_give_a_customer_a_name_joined_as_its_script_writes_it(admin_client, customer):
    page = admin_client.get(customer_change_url(customer))

    response = admin_client.post(customer_change_url(customer), {**admin_page_data(page), "name": "Mohammad\u200cReza"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Mohammad\u200cReza"


def test_the_email_staff_change_is_written_beside_the_name_the_customer_changed_meanwhile(admin_client, customer):
    old_email = customer.email
    page = admin_client.get(customer_change_url(customer))
    Customer.objects.filter(pk=customer.pk).update(name="Ana Confirmed")

    response = admin_client.post(
        customer_change_url(customer), {**admin_page_data(page), "email": "typed-by-staff@example.com"}
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.email, customer.name) == ("typed-by-staff@example.com", "Ana Confirmed")
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.EMAIL_CHANGED)
    assert f"from {old_email} to typed-by-staff@example.com by staff" in event.reason


def listing_queries(client, changelist: str, params: dict) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist, params)
    return response, [query["sql"].upper() for query in queries]


@pytest.mark.parametrize(
    ("changelist", "method"),
    [("/admin/portal_auth/accessevent/", "access_link"), ("/admin/portal_auth/apicall/", "GET")],
)
def test_the_logs_are_listed_without_reading_every_row_for_their_filters_or_a_second_count(
    admin_client, organisation, changelist, method
):
    AccessEvent.objects.create(organisation=organisation, kind=AccessEvent.Kind.SIGN_IN, method="access_link")
    AccessEvent.objects.create(organisation=organisation, kind=AccessEvent.Kind.SIGN_IN, method="password")
    ApiCall.objects.create(organisation=organisation, method="GET", endpoint="/api/v1/customers", status=200)
    ApiCall.objects.create(organisation=organisation, method="PUT", endpoint="/api/v1/customers", status=200)

    response, sql = listing_queries(admin_client, changelist, {"method": method})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert f'href="?method={method}"' in response.content.decode()  # offered without reading the table
    assert not [query for query in sql if "DISTINCT" in query]
    assert len([query for query in sql if "COUNT(" in query]) == 1


def test_staff_delete_an_organisation_with_everything_it_holds(admin_client, organisation, customer):
    TicketFactory(organisation=organisation, requester=customer)
    service = ServiceFactory(organisation=organisation)
    booking = BookingFactory(organisation=organisation, service=service, resource=service.resource)
    BookingAddOnFactory(booking=booking)
    Membership.objects.create(
        organisation=organisation,
        customer=customer,
        plan=PlanFactory(organisation=organisation),
        started_on=datetime.date(2027, 1, 1),
        period_ends_on=datetime.date(2027, 2, 1),
    )
    url = reverse("admin:portal_auth_organisation_delete", args=[organisation.pk])

    confirmation = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "Are you sure" in confirmation.content.decode()
    assert response.status_code == 302
    assert not Organisation.objects.filter(pk=organisation.pk).exists()
    assert not Portal.objects.filter(organisation_id=organisation.pk).exists()
    assert not Ticket.objects.filter(requester_id=customer.pk).exists()
    assert not Booking.objects.filter(pk=booking.pk).exists()


def test_a_customer_with_tickets_is_not_deleted_alone(admin_client, customer):
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    url = reverse("admin:portal_auth_customer_delete", args=[customer.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert "protected related objects" in response.content.decode()
    assert Ticket.objects.filter(pk=ticket.pk, requester=customer).exists()


def test_the_primary_portal_is_not_deleted_alone_and_the_page_says_why(admin_client, organisation):
    primary = primary_portal_of(organisation)
    url = reverse("admin:portal_auth_portal_delete", args=[primary.pk])

    confirmation = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "make another portal primary first" in confirmation.content.decode()
    assert response.status_code == 200
    assert Portal.objects.filter(pk=primary.pk).exists()


def test_the_primary_portal_is_not_deleted_among_others_from_the_list(admin_client, organisation):
    primary = primary_portal_of(organisation)
    other = Portal.objects.create(organisation=organisation, slug=f"{organisation.slug}-other", name="Other")
    url = reverse("admin:portal_auth_portal_changelist")

    response = admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [primary.pk, other.pk], "post": "yes"}
    )

    assert "make another portal primary first" in response.content.decode()
    assert set(Portal.objects.filter(organisation=organisation)) == {primary, other}
