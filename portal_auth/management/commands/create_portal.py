from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from portal_auth.models import Organisation, Portal


class Command(BaseCommand):
    help = "Add a portal (another brand or venue) to an organisation and print its address."

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="The organisation's slug, e.g. 'voyages-lumiere'.")
        parser.add_argument("name", help="The portal's name as customers see it, e.g. 'Lumière Events'.")
        parser.add_argument("--slug", help="The portal's address (default: from the name).")
        parser.add_argument("--accent-colour", default="#1d4ed8")
        parser.add_argument("--primary", action="store_true", help="Make it the primary portal, where emails lead.")

    def handle(self, *args, organisation, name, slug, accent_colour, primary, **options):
        found = Organisation.objects.filter(slug=organisation).first()
        if found is None:
            raise CommandError(f"No organisation has the slug {organisation!r}.")
        portal = Portal(
            organisation=found, name=name, slug=slug or slugify(name), accent_colour=accent_colour, is_primary=primary
        )
        try:
            portal.full_clean()
        except ValidationError as error:
            messages = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            raise CommandError(messages) from None
        portal.save()
        self.stdout.write(f"Created the portal {portal.name} of {found.name}: {settings.SITE_URL}/{portal.slug}/")
