"""A customer's name typed by staff in the admin is checked as it would be stored (portal_core.text)."""

import pytest
from django.urls import reverse

from tests.conftest import admin_page_data


@pytest.mark.parametrize("name", ["Alice\nBcc: x", "Alice\r\nBob", "Alice\tBob", "Alice\u2028Bob", "Alice\x85Bob"])
def test_staff_cant_give_a_customer_a_name_on_two_lines_or_with_a_tab(admin_client, customer, name):
    url = reverse("admin:portal_auth_customer_change", args=[customer.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "name": name})

    assert response.status_code == 200
    assert (
        "The name can have no line breaks, tabs or other control characters: it is written on one line."
        in response.content.decode()
    )
    customer.refresh_from_db()
    assert customer.name != name
