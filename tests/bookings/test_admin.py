import datetime
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from bookings.models import BookingAddOn, BookingSettings
from tests.bookings.factories import AddOnFactory, BookingAddOnFactory, BookingFactory
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory


def changelist(admin_client, model, **params):
    response = admin_client.get(reverse(f"admin:bookings_{model}_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_bookings_are_found_by_reference_email_and_name(admin_client, organisation, make_booking):
    lisbon = make_booking(organisation, "alice@example.com", title="Lisbon")
    porto = make_booking(organisation, "bob@example.com", title="Porto", main_contact_name="Zed Contact")
    assert changelist(admin_client, "booking", q=lisbon.reference) == [lisbon]
    assert changelist(admin_client, "booking", q="alice@example.com") == [lisbon]
    assert changelist(admin_client, "booking", q="Zed") == [porto]
    # Every booking has "Other Traveller": found once each, not once per matching attendee.
    assert len(changelist(admin_client, "booking", q="Other Traveller")) == 2


def test_bookings_are_filtered_by_status_organisation_and_dates(admin_client, organisation, other_organisation):
    confirmed = BookingFactory(organisation=organisation, starts_on=datetime.date(2026, 5, 1))
    cancelled = BookingFactory(organisation=organisation, status="cancelled", starts_on=datetime.date(2027, 1, 1))
    elsewhere = BookingFactory(organisation=other_organisation, starts_on=datetime.date(2027, 1, 1))
    assert changelist(admin_client, "booking", status="cancelled") == [cancelled]
    assert changelist(admin_client, "booking", organisation__id__exact=organisation.pk) == [confirmed, cancelled]
    assert changelist(admin_client, "booking", starts_on__year=2027) == [cancelled, elsewhere]


def test_booking_change_page_shows_inlines_and_the_portal_link(admin_client, organisation, make_booking):
    booking = make_booking(organisation, "alice@example.com")
    line = BookingAddOnFactory(booking=booking)
    response = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"https://portal.example.test/{organisation.slug}/bookings/{booking.reference}/" in page
    assert "alice@example.com" in page
    assert line.add_on.name in page
    attendee = booking.attendees.get(email="alice@example.com")
    assert reverse("admin:bookings_attendee_portal_password", args=[attendee.pk]) in page
    assert "Booking documents" in page


def booking_form_with_add_on(booking, add_on) -> dict:
    """The booking's admin form as posted, with one new booked add-on line."""
    return {
        "organisation": booking.organisation_id,
        "title": booking.title,
        "starts_on": booking.starts_on.isoformat(),
        "ends_on": booking.ends_on.isoformat(),
        "status": "confirmed",
        **{
            f"{prefix}-{count}": "0"
            for prefix in ("attendees", "documents")
            for count in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
        "booked_add_ons-TOTAL_FORMS": "1",
        "booked_add_ons-INITIAL_FORMS": "0",
        "booked_add_ons-0-add_on": add_on.pk,
    }


def test_staff_add_an_add_on_in_admin_as_staff_at_the_current_price(admin_client, staff_user, organisation):
    booking = BookingFactory(organisation=organisation)
    add_on = AddOnFactory(organisation=organisation, price="19.99", currency="GBP")
    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]), booking_form_with_add_on(booking, add_on)
    )
    assert response.status_code == 302
    line = BookingAddOn.objects.get(booking=booking)
    assert (str(line.price), line.currency) == ("19.99", "GBP")
    assert (line.booked_by, line.booked_by_staff) == (BookingAddOn.BookedBy.STAFF, staff_user)


def test_staff_cannot_book_another_organisations_add_on(admin_client, organisation, other_organisation):
    booking = BookingFactory(organisation=organisation)
    foreign = AddOnFactory(organisation=other_organisation)
    response = admin_client.post(
        reverse("admin:bookings_booking_change", args=[booking.pk]), booking_form_with_add_on(booking, foreign)
    )
    assert response.status_code == 200
    assert "This add-on belongs to another organisation." in response.content.decode()
    assert not BookingAddOn.objects.exists()


def test_add_ons_documents_and_attendees_have_working_admin_pages(admin_client, organisation, make_booking):
    make_booking(organisation, "alice@example.com")
    AddOnFactory(organisation=organisation, name="Airport transfer")
    assert [a.name for a in changelist(admin_client, "addon", q="Airport")] == ["Airport transfer"]
    assert len(changelist(admin_client, "attendee", q="alice@example.com")) == 1
    assert changelist(admin_client, "bookingdocument") == []
    assert admin_client.get(reverse("admin:bookings_booking_add")).status_code == 200


def test_changelist_queries_do_not_grow_with_bookings(admin_client, organisation, django_assert_max_num_queries):
    BookingFactory.create_batch(2, organisation=organisation)
    url = reverse("admin:bookings_booking_changelist")
    with django_assert_max_num_queries(20) as few:
        admin_client.get(url)
    BookingFactory.create_batch(30, organisation=organisation)
    with django_assert_max_num_queries(20) as many:
        admin_client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_customers_never_reach_admin(sign_in, customer):
    response = sign_in(customer).get(reverse("admin:bookings_booking_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_staff_without_permission_see_nothing(organisation):
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_booking"))
    assert client.get(reverse("admin:bookings_booking_changelist")).status_code == 200


def test_a_cancelled_add_on_line_shows_as_cancelled_with_when_and_by_whom(admin_client, organisation, make_booking):
    booking = make_booking(organisation, "alice@example.com")
    customer = CustomerFactory(organisation=organisation, email="alice@example.com")
    cancelled = BookingAddOnFactory(
        booking=booking,
        booked_by=BookingAddOn.BookedBy.CUSTOMER,
        booked_by_customer=customer,
        cancelled_at=datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.UTC),
        cancelled_by=BookingAddOn.CancelledBy.CUSTOMER,
        cancelled_by_customer=customer,
    )
    BookingAddOnFactory(booking=booking)

    page = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()

    assert cancelled.add_on.name in page
    assert "Cancelled on 02 Nov 2026, 09:30 by alice@example.com (customer)" in page
    assert len(re.findall(r'field-cancellation">\s*<p>Booked</p>', page)) == 1


def test_staff_set_the_add_on_cancellation_notice_and_payment_text(admin_client, organisation):
    response = admin_client.post(
        reverse("admin:bookings_bookingsettings_add"),
        {
            "organisation": organisation.pk,
            "add_on_cancellation_notice": "3 00:00:00",
            "add_on_payment_text": "Paid at the reception.",
        },
    )
    assert response.status_code == 302
    settings = BookingSettings.objects.get(organisation=organisation)
    assert settings.add_on_cancellation_notice == datetime.timedelta(days=3)
    assert settings.payment_text == "Paid at the reception."
    negative = admin_client.post(
        reverse("admin:bookings_bookingsettings_change", args=[organisation.pk]),
        {"add_on_cancellation_notice": "-1 00:00:00", "add_on_payment_text": ""},
    )
    assert negative.status_code == 200
    assert BookingSettings.objects.get(organisation=organisation).add_on_cancellation_notice == datetime.timedelta(3)


def test_staff_cancel_a_customers_add_on_line_which_stays_and_emails_the_customer(
    admin_client, staff_user, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    booking = BookingFactory(organisation=organisation)
    customer = CustomerFactory(organisation=organisation, email="alice@example.com")
    line = BookingAddOnFactory(booking=booking, booked_by=BookingAddOn.BookedBy.CUSTOMER, booked_by_customer=customer)
    form = booking_form_with_add_on(booking, line.add_on)
    form.update(
        {
            "booked_add_ons-INITIAL_FORMS": "1",
            "booked_add_ons-0-id": line.pk,
            "booked_add_ons-0-booking": booking.pk,
            "booked_add_ons-0-cancel": "on",
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:bookings_booking_change", args=[booking.pk]), form)

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.is_cancelled
    assert (line.cancelled_by, line.cancelled_by_staff) == (BookingAddOn.CancelledBy.STAFF, staff_user)
    assert [email.to for email in mailoutbox] == [["alice@example.com"]]
    assert mailoutbox[0].subject.startswith("Cancelled: ")
    page = admin_client.get(reverse("admin:bookings_booking_change", args=[booking.pk])).content.decode()
    assert f"by {staff_user.username} (staff)" in page


def test_a_booking_stays_in_its_organisation(admin_client, organisation, other_organisation, make_booking):
    booking = make_booking(organisation, "alice@example.com")
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "organisation": other_organisation.pk})

    assert 'name="organisation"' not in page.content.decode()
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.organisation == organisation


def test_staff_cant_name_an_attendee_with_hidden_characters(admin_client, organisation, make_booking):
    booking = make_booking(organisation, "alice@example.com")
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "attendees-0-name": "Alice\u202egnp.exe"})

    assert response.status_code == 200
    assert "The name can have no invisible formatting characters" in response.content.decode()
    assert not booking.attendees.filter(name__contains="\u202e").exists()
