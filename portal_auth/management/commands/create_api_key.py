from django.core.management.base import BaseCommand, CommandError

from portal_auth.api_keys import api_key_create
from portal_auth.models import Organisation


class Command(BaseCommand):
    help = (
        "Create an API key for an organisation's backend and print it: it is shown this once, and stored only hashed."
    )

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="The organisation's slug.")
        parser.add_argument("--name", required=True, help="Who uses the key, e.g. 'Backend'.")

    def handle(self, *args, organisation, name, **options):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise CommandError(f"No organisation with the slug {organisation!r}.")
        if not name.strip() or len(name) > 100:
            raise CommandError("Name the key in 1 to 100 characters.")
        key, raw = api_key_create(organisation=found, name=name.strip())
        self.stderr.write(f"API key “{key.name}” for {found.name}. Keep it now: it can't be shown again.")
        self.stdout.write(raw)
