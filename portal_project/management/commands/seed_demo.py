from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from portal_auth.models import Organisation, Portal
from portal_auth.services import customer_get_or_create
from portal_core.sections import sections

DEMO_PASSWORD = "demo password for the portal"
DEMO_CUSTOMERS = [("alice@example.com", "Alice Martin"), ("bob@example.com", "Bob Okafor")]


class Command(BaseCommand):
    help = "Create a demo organisation with bookings, tickets and conversations, and print how to reach them."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--site-url", help="Print links for this address instead of SITE_URL.")

    def handle(self, *args, slug, site_url, **options):
        if site_url:
            settings.SITE_URL = site_url.rstrip("/")
        with transaction.atomic():
            organisation, created = Organisation.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": "Voyages Lumière",
                    "display_name": "Voyages Lumière",
                    "support_email": "help@voyages-lumiere.example",
                    "support_phone": "+44 20 7946 0000",
                    "notification_links_sign_in": True,
                },
            )
            if created:
                organisation.portals.filter(is_primary=True).update(accent_colour="#0f5c8a")
            else:
                self.stdout.write(f"The demo organisation '{slug}' exists already; adding only what is missing.")
            self._staff_user()
            self.stdout.write(self.style.MIGRATE_HEADING(f"\n{organisation.public_name} — {settings.SITE_URL}/{slug}/"))
            for section in sections():
                if section.seed_demo is not None:
                    self.stdout.write(self.style.MIGRATE_HEADING(f"\n{section.key.capitalize()}"))
                    section.seed_demo(organisation=organisation, stdout=self.stdout)
            self._second_portal(organisation, slug)
            for email, name in DEMO_CUSTOMERS:
                customer = customer_get_or_create(organisation=organisation, email=email, name=name)
                if not customer.has_password:
                    customer.set_password(DEMO_PASSWORD)
                    customer.save()
        self.stdout.write(self.style.MIGRATE_HEADING("\nSign in"))
        self.stdout.write(f"  Portal: {settings.SITE_URL}/{slug}/sign-in/")
        self.stdout.write(f"  Its second portal, same sign-in: {settings.SITE_URL}/{slug}-events/")
        for email, _ in DEMO_CUSTOMERS:
            self.stdout.write(f"    {email} / {DEMO_PASSWORD}")
        if settings.DEBUG:  # the only case in which _staff_user made that account
            self.stdout.write(f"  Admin:  {settings.SITE_URL}/admin/  (admin / admin)")
        self.stdout.write("  Emails (password links, confirmations) are printed on this console.\n")

    def _second_portal(self, organisation, slug):
        """A second brand of the demo business: its own look, conversations first, no billing."""
        portal, created = Portal.objects.get_or_create(
            slug=f"{slug}-events",
            defaults={"organisation": organisation, "name": "Lumière Events", "accent_colour": "#7a1f5c"},
        )
        if created:
            order = ["conversations", "tickets", "bookings", "policies"]
            for row in portal.sections.all():
                row.position = order.index(row.key) + 1 if row.key in order else len(order) + 1
                row.enabled = row.key != "billing"
                row.save()

    def _staff_user(self):
        # A known admin password is only acceptable on a developer's machine.
        if not settings.DEBUG:
            self.stdout.write("Not in DEBUG: create a staff account with `manage.py createsuperuser`.")
            return
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@voyages-lumiere.example", "admin")
