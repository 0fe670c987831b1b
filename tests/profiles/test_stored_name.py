"""The profile page with a name stored before the rule on names (profiles/forms.py, ProfileForm.clean_name)."""

import pytest

from portal_auth.models import Customer
from profiles.models import Profile
from tests.profiles.test_views import details, profile_url

OLD_NAME = "Alice\u202egnp.exe"


@pytest.fixture
def client_of(sign_in, customer):
    return sign_in(customer)


def test_a_save_that_leaves_a_name_from_before_the_rule_as_shown_goes_through(client_of, customer):
    Customer.objects.filter(pk=customer.pk).update(name=OLD_NAME)

    response = client_of.post(profile_url(customer), details(name=OLD_NAME, city="Porto"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == OLD_NAME
    assert Profile.objects.get(customer=customer).city == "Porto"


def test_a_name_from_before_the_rule_changed_to_another_with_hidden_characters_is_refused(client_of, customer):
    Customer.objects.filter(pk=customer.pk).update(name=OLD_NAME)

    response = client_of.post(profile_url(customer), details(name="Bob\u202egnp.exe", city="Porto"))

    assert response.status_code == 200
    assert "Your name can have no invisible formatting characters" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == OLD_NAME
    assert not Profile.objects.filter(customer=customer, city="Porto").exists()


@pytest.mark.parametrize("stored", ["\u3164", "A" + "\u0301" * 12])
def test_a_name_stored_blank_looking_or_stacked_does_not_hold_up_saving_the_address(client_of, customer, stored):
    """The rule on names that show is the profile form's: names the admin or the API stored before it stay savable."""
    Customer.objects.filter(pk=customer.pk).update(name=stored)

    response = client_of.post(profile_url(customer), details(name=stored, city="Porto"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == stored
    assert Profile.objects.get(customer=customer).city == "Porto"
