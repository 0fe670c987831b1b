from typing import TextIO

from portal_auth.models import Customer, Organisation
from profiles.models import Profile


def seed_demo(*, organisation: Organisation, stdout: TextIO) -> None:
    """Alice's phone, address and language, so the demo's profile page shows what one holds."""
    alice = Customer.objects.filter(organisation=organisation, email="alice@example.com").first()
    if alice is None:
        stdout.write("  profile: no alice@example.com to fill in")
        return
    Profile.objects.get_or_create(
        customer=alice,
        defaults={
            "phone": "+351 21 123 4567",
            "address_line_1": "12 Rua das Flores",
            "city": "Lisboa",
            "postcode": "1200-195",
            "country": "Portugal",
            "language": "en-gb",
        },
    )
