"""Whose cached pages a write of the profile app makes stale: the customer's own (the profile page shows both)."""

from portal_auth.page_cache import customers_scopes
from portal_core import page_cache
from profiles.models import EmailChange, Profile


def watch() -> None:
    page_cache.watch(Profile, lambda profile: customers_scopes([profile.customer_id]))
    page_cache.watch(EmailChange, lambda change: customers_scopes([change.customer_id]))
