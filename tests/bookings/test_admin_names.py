"""A booking's main contact is named as a customer is (portal_core.text.validate_name_characters)."""

import pytest
from django.urls import reverse

from tests.conftest import admin_page_data


@pytest.mark.parametrize("name", ["Bob\u202egnp.exe", "Bob\nBcc: x"])
def test_staff_cant_give_a_main_contact_a_name_with_hidden_characters(admin_client, organisation, make_booking, name):
    booking = make_booking(organisation, "alice@example.com", main_contact_name="Bob")
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "main_contact_name": name})

    assert response.status_code == 200
    assert "The name can have no" in response.content.decode()
    booking.refresh_from_db()
    assert booking.main_contact_name == "Bob"


def test_staff_name_a_main_contact_joined_as_its_script_writes_it(admin_client, organisation, make_booking):
    booking = make_booking(organisation, "alice@example.com", main_contact_name="Bob")
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "main_contact_name": "Mohammad\u200cReza"})

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.main_contact_name == "Mohammad\u200cReza"
