"""Attendees' and main contacts' names stored before the rule on names are rewritten to pass it (bookings 0011)."""

import datetime

import pytest

from portal_core.text import validate_name_characters

BEFORE = [
    ("bookings", "0010_opening_hours_past_midnight"),
    ("portal_auth", "0023_customer_names_without_hidden_characters"),
]
AFTER = [("bookings", "0011_names_without_hidden_characters")]


@pytest.mark.django_db(transaction=True)
def test_attendees_and_main_contacts_names_with_hidden_characters_are_rewritten(migrate):
    apps = migrate(BEFORE)
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    Booking = apps.get_model("bookings", "Booking")
    Attendee = apps.get_model("bookings", "Attendee")
    day = datetime.date(2027, 5, 1)
    made = {"organisation": organisation, "starts_on": day, "ends_on": day}
    hidden = Booking.objects.create(**made, title="Lisbon", reference="LIS", main_contact_name="Bob\u202egnp.exe")
    plain = Booking.objects.create(**made, title="Porto", reference="POR", main_contact_name="Zoë Łukasz")
    for booking, name, email in [
        (hidden, "Alice\u202egnp.exe", "alice@example.com"),
        (hidden, "Eve\nFake line", "eve@example.com"),
        (hidden, "\u202e\u200b", "ghost@example.com"),  # nothing but hidden characters
        (plain, "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627", "persian@example.com"),
        (plain, "Other Traveller", "other@example.com"),
    ]:
        Attendee.objects.create(booking=booking, name=name, email=email)

    apps = migrate(AFTER)

    contacts = dict(apps.get_model("bookings", "Booking").objects.values_list("reference", "main_contact_name"))
    assert contacts == {"LIS": "Bobgnp.exe", "POR": "Zoë Łukasz"}
    attendees = dict(apps.get_model("bookings", "Attendee").objects.values_list("email", "name"))
    assert attendees == {
        "alice@example.com": "Alicegnp.exe",
        "eve@example.com": "Eve Fake line",
        "ghost@example.com": "ghost@example.com",
        "persian@example.com": "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
        "other@example.com": "Other Traveller",
    }
    for name in [*contacts.values(), *attendees.values()]:
        validate_name_characters(name)
