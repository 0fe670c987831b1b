from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from portal_auth.doors.registry import EMAIL_CODE, default_door_keys, door_keys_in_order
from portal_auth.models import HEX_COLOUR, Organisation, Portal
from portal_core.colours import text_contrast_problem


class Command(BaseCommand):
    help = "Create an organisation (a business with its own portal) and print its portal address."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The business's name, e.g. 'Voyages Lumière'.")
        parser.add_argument("--slug", help="The part of every portal link naming it (default: from the name).")
        parser.add_argument("--support-email", default="")
        parser.add_argument("--accent-colour", default="#1d4ed8")
        parser.add_argument("--no-sign-in", action="store_true", help="Booking links open without signing in.")
        parser.add_argument(
            "--code-sign-in", action="store_true", help="Open the door of sign-in codes sent by email (off by default)."
        )

    def handle(self, *args, name, slug, support_email, accent_colour, no_sign_in, code_sign_in, **options):
        from django.conf import settings

        organisation = Organisation(
            name=name,
            slug=slug or slugify(name),
            support_email=support_email,
            requires_sign_in=not no_sign_in,
            doors=door_keys_in_order([*default_door_keys(), *([EMAIL_CODE] if code_sign_in else [])]),
        )
        try:
            organisation.full_clean()
            HEX_COLOUR(accent_colour)
            # As the admin and create_portal judge it: the buttons' text, in the portal's default colour, on it.
            if problem := text_contrast_problem(
                accent_colour, Portal._meta.get_field("accent_text_colour").get_default()
            ):
                raise ValidationError(problem)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                raise CommandError(f"accent colour: {' '.join(error.messages)}") from None
            messages = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
            raise CommandError(messages) from None
        with transaction.atomic():
            organisation.save()
            portal = organisation.portals.get(is_primary=True)
            portal.accent_colour = accent_colour
            portal.save(update_fields=["accent_colour"])
        self.stdout.write(f"Created {organisation.name}: {settings.SITE_URL}/{portal.slug}/")
