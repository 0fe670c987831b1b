"""profiles/demo.py: Alice's profile, once however often it runs."""

import io

from django.core.management import call_command

from profiles.models import Profile


def test_seed_demo_fills_in_alices_profile_once(db):
    for _ in range(2):
        call_command("seed_demo", "--slug", "demo", stdout=io.StringIO())
    profile = Profile.objects.get()
    assert profile.customer.email == "alice@example.com"
    assert profile.address_lines == ["12 Rua das Flores", "1200-195 Lisboa", "Portugal"]
