"""Whose cached pages a write in the policies app makes stale: the whole organisation's, whose every page's footer
links to its policies (the footer's own copy, on the organisation, makes them stale as well when it changes)."""

from policies.models import CompanyInformation, Policy
from portal_auth.page_cache import organisation_scope
from portal_core import page_cache


def _organisation_wide(instance: Policy | CompanyInformation) -> list[str]:
    return [organisation_scope(instance.organisation_id)]


def watch() -> None:
    page_cache.watch(Policy, _organisation_wide)
    page_cache.watch(CompanyInformation, _organisation_wide)
