"""The portal's sections: what each domain app adds to the nav, the home, sign-in and the demo data.

A domain app declares its section once, as `section` on its AppConfig (set in `ready()`, where it may import
its own selectors). The pages composed from every section iterate `sections()` and name no app, so a new
domain app takes its code, a line in INSTALLED_APPS, a URL include and that declaration.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

# Where a customer lands after signing in when nothing else was asked for and no section offers itself.
HOME_URL_NAME = "portal_home"


@dataclass(frozen=True)
class OptionalEmail:
    """An email a customer may choose, on their profile, not to get (or, `default=False`, to get).

    Emails a sign-in needs (links, codes, a changed password or address) are never optional. A sender of an
    optional email asks `customer.wants_email(...)` with this declaration first.
    """

    key: str  # stored in the customer's choices: never rename it
    label: str  # the checkbox's text: "Replies to my support tickets"
    hint: str = ""
    default: bool = True  # what a customer who never chose gets; news and offers wait for a yes


@dataclass(frozen=True)
class Section:
    key: str  # the URL namespace of the section's pages: the nav marks the section current on them
    title: str  # the nav link's text
    list_url_name: str  # URL name (kwarg org) of the section's list page, which the nav links to
    order: int  # place in the nav and on the home, lowest first
    # The home's panel for the section, rendered with `section` and `items` (what home_items returned).
    home_template: str = ""
    # (customer) -> the few rows the home shows: one query however much the customer has, scoped to them.
    home_items: Callable[[Any], Iterable[Any]] | None = None
    # (organisation, email) -> whether the organisation holds something of this section for the email.
    knows_email: Callable[[Any, str], bool] | None = None
    # (organisation=, stdout=) -> None: adds the section's demo data for `manage.py seed_demo`, idempotently.
    seed_demo: Callable[..., None] | None = None
    # Whether the section's list may be where a customer lands after signing in with nothing else asked for.
    can_land: bool = False
    # (organisation) -> whether the section has nothing for anyone there, so the nav leaves it out. Asked on every
    # page, so it must answer from the organisation's row alone, without a query.
    is_empty: Callable[[Any], bool] | None = None
    # The emails of the section a customer may turn off on their profile.
    optional_emails: tuple[OptionalEmail, ...] = ()
    # (now) -> (how many, what): deletes the section's rows that can no longer be used, for `manage.py purge_expired`.
    purge_expired: Callable[[Any], tuple[int, str]] | None = None

    def __post_init__(self) -> None:
        # The nav recognises a section's pages by their URL namespace, so the list page must be in it.
        if self.list_url_name.partition(":")[0] != self.key:
            raise ImproperlyConfigured(
                f"Section {self.key!r}: its list URL {self.list_url_name!r} must be in the {self.key!r} namespace."
            )
        if bool(self.home_template) != bool(self.home_items):
            raise ImproperlyConfigured(f"Section {self.key!r}: a home template and home items go together.")


def sections() -> list[Section]:
    """The installed apps' sections in their order. Read on each call: a handful of attributes, no cache to go stale."""
    declared = (getattr(config, "section", None) for config in apps.get_app_configs())
    found = [section for section in declared if isinstance(section, Section)]
    keys = [section.key for section in found]
    if len(keys) != len(set(keys)):
        raise ImproperlyConfigured(f"Two installed apps declare a section with the same key: {sorted(keys)}.")
    return sorted(found, key=lambda section: (section.order, section.key))


def landing_url_name(shown: Iterable[Section] | None = None) -> str:
    """URL name (kwarg org) of where a customer lands after signing in, when nothing else was asked for: the first
    section that can be landed on among those `shown` (by default every installed one), else the home."""
    candidates = sections() if shown is None else shown
    return next((section.list_url_name for section in candidates if section.can_land), HOME_URL_NAME)


def optional_emails() -> list[OptionalEmail]:
    """Every optional email of the installed sections, in the sections' order."""
    return [email for section in sections() for email in section.optional_emails]
