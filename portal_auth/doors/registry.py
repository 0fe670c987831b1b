"""The doors into a portal: every way a customer can sign in, and which of them an organisation opens.

A door is a subpackage of portal_auth.doors (its logic, forms, views and urls) plus one entry in DOORS.
The sign-in page shows the open doors in DOORS' order; the URLs of a closed door answer 404.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.http import Http404

if TYPE_CHECKING:
    from portal_auth.models import Organisation

PASSWORD = "password"
ACCESS_LINK = "access_link"
EXTERNAL_SIGN_ON = "external_sign_on"
EMAIL_CODE = "email_code"
API_REDIRECT = "api_redirect"


@dataclass(frozen=True)
class Door:
    key: str  # stored in Organisation.doors and named as the method in the access log
    title: str  # the admin's checkbox
    sign_in_template: str  # the door's part of the sign-in page ("" for a door the sign-in page doesn't show)
    urls: str  # dotted path of the module whose urlpatterns join portal_auth's
    opened_by_default: bool  # open for an organisation that chose nothing
    # How a customer's own pages name the way they came in ("Recent access"); {organisation} is its public name.
    said: str


DOORS: tuple[Door, ...] = (
    Door(
        key=EXTERNAL_SIGN_ON,
        title="Custom sign-on: “Sign in with …” the business's own login (needs its login page and a secret)",
        sign_in_template="portal_auth/doors/external_sign_on.html",
        urls="portal_auth.doors.external_sign_on.urls",
        opened_by_default=False,
        said="{organisation}’s own sign-in",
    ),
    Door(
        key=PASSWORD,
        title="Email and password",
        sign_in_template="portal_auth/doors/password.html",
        urls="portal_auth.doors.password.urls",
        opened_by_default=True,
        said="email and password",
    ),
    Door(
        key=EMAIL_CODE,
        title="Emailed sign-in codes (“Email me a sign-in code”: eight digits, typed in the same browser)",
        sign_in_template="portal_auth/doors/email_code.html",
        urls="portal_auth.doors.email_code.urls",
        opened_by_default=False,
        said="an emailed code",
    ),
    Door(
        key=ACCESS_LINK,
        title="Emailed sign-in links (“Email me a link”, and the links staff and notifications send)",
        sign_in_template="portal_auth/doors/access_link.html",
        urls="portal_auth.doors.access_link.urls",
        opened_by_default=True,
        said="an emailed link",
    ),
    Door(
        key=API_REDIRECT,
        title="Sign-in URLs from the business's app (made through the API with an API key, 30 seconds, once)",
        sign_in_template="",
        urls="portal_auth.doors.api_redirect.urls",
        opened_by_default=False,
        said="{organisation}’s app",
    ),
)
DOOR_KEYS = tuple(door.key for door in DOORS)


def default_door_keys() -> list[str]:
    """The model field's default: what a new organisation opens."""
    return [door.key for door in DOORS if door.opened_by_default]


def door_choices() -> list[tuple[str, str]]:
    return [(door.key, door.title) for door in DOORS]


def door_keys_in_order(keys: Iterable[str]) -> list[str]:
    """The keys once each, in DOORS' order, so equal sets are stored alike."""
    chosen = set(keys)
    return [key for key in DOOR_KEYS if key in chosen]


def validate_door_keys(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise ValidationError("List the doors by their keys.", code="not_a_list")
    unknown = sorted(set(value) - set(DOOR_KEYS))
    if unknown:
        raise ValidationError(
            "Unknown door: %(unknown)s. Known doors: %(known)s.",
            code="unknown_door",
            params={"unknown": ", ".join(unknown), "known": ", ".join(DOOR_KEYS)},
        )


def door_said(key: str, organisation: "Organisation") -> str:
    """The door in a customer's words: "an emailed link"; a door since removed by its key."""
    door = next((door for door in DOORS if door.key == key), None)
    return door.said.format(organisation=organisation.public_name) if door else key.replace("_", " ")


def door_is_open(organisation: "Organisation", key: str) -> bool:
    return key in organisation.doors


def open_doors(organisation: "Organisation") -> list[Door]:
    return [door for door in DOORS if door_is_open(organisation, door.key)]


def door_required(key: str) -> Callable:
    """For a view under organisation_page: a closed door's pages answer 404, as if it had none."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, organisation: "Organisation", *args, **kwargs):
            if not door_is_open(organisation, key):
                raise Http404("This way of signing in is not open here.")
            return view(request, organisation, *args, **kwargs)

        return wrapper

    return decorator
