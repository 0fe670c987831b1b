"""What the tickets' models tell customers of who wrote."""

import pytest

from tests.factories import StaffUserFactory
from tickets.models import staff_display_name

pytestmark = pytest.mark.django_db


def test_customers_are_told_a_staff_members_name_without_its_hidden_characters():
    assert staff_display_name(StaffUserFactory(first_name="Ana\u202e", last_name="\u200bLima")) == "Ana Lima"
    assert staff_display_name(StaffUserFactory(first_name="\u202e", last_name="")) == "Support team"
