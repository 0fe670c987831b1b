"""The billing name, every invoice's Bill-to, is named as a customer is (portal_core.text.validate_name_characters)."""

import pytest
from django.urls import reverse

from billing.models import BillingProfile
from tests.conftest import admin_page_data


@pytest.mark.parametrize("name", ["ACME\u202eFDP.exe", "ACME\nBcc: x"])
def test_staff_cant_give_a_billing_name_hidden_characters(admin_client, customer, name):
    profile = BillingProfile.objects.create(customer=customer, name="ACME")
    url = reverse("admin:billing_billingprofile_change", args=[profile.pk])
    page = admin_client.get(url)

    response = admin_client.post(url, {**admin_page_data(page), "name": name})

    assert response.status_code == 200
    assert "The name can have no" in response.content.decode()
    profile.refresh_from_db()
    assert profile.name == "ACME"
