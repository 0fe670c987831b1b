from typing import TextIO

from portal_auth.models import Organisation
from tests.loyalty_app.models import Membership


def seed_demo(*, organisation: Organisation, stdout: TextIO) -> None:
    membership, created = Membership.objects.get_or_create(
        organisation=organisation, email="alice@example.com", programme="Voyager Club", defaults={"points": 1200}
    )
    stdout.write(f"  {membership.email}: {membership}" + ("" if created else " (exists already)"))
