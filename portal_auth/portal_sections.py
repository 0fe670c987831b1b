"""Which sections a portal shows, in what order, and which of them a customer sees.

A portal's layout (its PortalSection rows, copied onto the portal's row) orders the installed sections and may
turn some off, or hide them from a customer they hold nothing for. Whether a section holds something is what the
home's panels already load (one query a section, which the home runs anyway); the nav of every other page reads
what the home last found, from the cache, and shows a section when nothing is known.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from portal_auth.models import Customer, Portal
from portal_auth.page_cache import customer_scope, organisation_scope
from portal_core import page_cache
from portal_core.sections import Section, sections

# How long what the home found stays known: the versions in its key make it stale at the next write anyway.
_HELD_FOR = 24 * 3600


@dataclass(frozen=True)
class PlacedSection:
    section: Section
    hide_when_empty: bool


def portal_sections(portal: Portal) -> list[PlacedSection]:
    """The sections `portal` shows, in its order; the installed sections its layout doesn't name come last."""
    installed = {section.key: section for section in sections()}
    layout = [entry for entry in portal.section_layout if entry["key"] in installed]
    named = {entry["key"] for entry in layout}
    placed = [
        PlacedSection(installed[entry["key"]], bool(entry.get("hide_when_empty")))
        for entry in layout
        if entry.get("enabled", True)
    ]
    return placed + [PlacedSection(section, False) for key, section in installed.items() if key not in named]


# URL namespaces whose pages are a section's without being its app: they go where the section goes.
SECTION_OF_NAMESPACE = {"account": "profile"}  # "Recent access" and "Your sessions", at /<portal>/profile/access/


def section_enabled(portal: Portal, key: str) -> bool:
    """Whether the section with this key (a URL namespace) is on in the portal; anything not a section is."""
    key = SECTION_OF_NAMESPACE.get(key, key)
    if key not in {section.key for section in sections()}:
        return True
    return any(placed.section.key == key for placed in portal_sections(portal))


def _held_key(customer: Customer) -> str | None:
    versions = page_cache.versions([organisation_scope(customer.organisation_id), customer_scope(customer.pk)])
    return None if versions is None else f"portal:held:{customer.pk}:{':'.join(versions)}"


def sections_held_remember(customer: Customer, held: Iterable[str]) -> None:
    """What the home found the customer's sections hold (the keys of those holding something), for the nav."""
    if page_cache.enabled() and (key := _held_key(customer)) is not None:
        page_cache.fact_set(key, sorted(held), _HELD_FOR)


def sections_held(customer: Customer) -> set[str] | None:
    """The keys of the sections the home last found holding something for the customer; None when not known."""
    if not page_cache.enabled() or (key := _held_key(customer)) is None:
        return None
    held = page_cache.fact_get(key)
    return set(held) if held is not None else None


def nav_sections(portal: Portal, customer: Customer | None, held: set[str] | None = None) -> list[Section]:
    """The sections the nav links to: those the portal shows, less those with nothing in the organisation (say, no
    policies) and those hidden from this customer when empty."""
    organisation = portal.organisation
    placed = [p for p in portal_sections(portal) if p.section.is_empty is None or not p.section.is_empty(organisation)]
    if customer is not None and held is None and any(p.hide_when_empty for p in placed):
        held = sections_held(customer)
    return [p.section for p in placed if not (p.hide_when_empty and held is not None and p.section.key not in held)]


def footer_links_shown(portal: Portal) -> list:
    """The organisation's footer links this portal shows: each group is an app's (its section's key), left out
    where the portal hides that section, whose pages would answer 404 there."""
    return portal.organisation.footer_links_of(lambda group: section_enabled(portal, group))
