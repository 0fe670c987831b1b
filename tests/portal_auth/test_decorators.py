"""The portal's addresses as a browser meets them: a GET never meets a 405, a form's POST address leads to its page."""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.bookings.factories import AttendeeFactory, BookingFactory
from tests.tickets.factories import TicketFactory

# Where a GET on each POST-only address goes: the page its form is on (and the form's id there).
POST_ONLY = {
    "portal_auth:sign_out": ("portal_home", ""),
    "tickets:reply": ("tickets:detail", "#reply-form"),
    "bookings:document_upload": ("bookings:detail", ""),
}


def _portal_url_names(patterns=None, namespace="") -> list[str]:
    """Every named address of the customer portal (neither the admin nor the API)."""
    names = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            # The admin is Django's own; the JSON API answers machines, its methods being its contract.
            if pattern.app_name == "admin" or pattern.namespace == "api":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += _portal_url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(f"{namespace}{pattern.name}")
    return sorted(set(names))


@pytest.fixture
def url_arguments(customer):
    booking = BookingFactory(organisation=customer.organisation)
    AttendeeFactory(booking=booking, email=customer.email)
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    return {
        "org": customer.organisation.slug,
        "reference": booking.reference,
        "number": ticket.number,
        "pk": 1,
        "attachment_id": 1,
        "add_on_id": 1,
        "token": "not-a-real-token",
        "state": "not-a-real-state",
        "service_id": 1,
        "day": datetime.date(2030, 1, 7),
        "time": datetime.time(10),
        "slug": "terms",
    }


def _url(name: str, arguments: dict) -> str:
    for wanted in (["org"], ["org", "reference"], ["org", "number"], ["org", "pk"], ["org", "reference", "pk"],
                   ["org", "number", "attachment_id"], ["org", "reference", "add_on_id"],
                   ["org", "token"], ["org", "state"], ["org", "service_id"], ["org", "service_id", "day"],
                   ["org", "service_id", "day", "time"], ["org", "reference", "day"],
                   ["org", "reference", "day", "time"], ["org", "slug"], []):  # fmt: skip
        try:
            return reverse(name, kwargs={key: arguments[key] for key in wanted})
        except Exception:  # noqa: BLE001 - the next set of arguments
            continue
    raise AssertionError(f"no arguments fit {name}")


def test_the_post_only_addresses_are_all_known():
    assert set(POST_ONLY) <= set(_portal_url_names())


@pytest.mark.parametrize("name", _portal_url_names())
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed in", "signed out"])
def test_a_get_on_any_portal_address_is_never_a_405(client, sign_in, customer, url_arguments, name, signed_in):
    if signed_in:
        client = sign_in(customer, client=client)
    url = _url(name, url_arguments)

    response = client.get(url)

    assert response.status_code != 405, f"GET {url} answers 405"
    if name in POST_ONLY:
        assert response.status_code == 302
        page_name, form_anchor = POST_ONLY[name]
        page = _url(page_name, url_arguments)
        assert response["Location"] == page + form_anchor
        if name == "portal_auth:sign_out" and signed_in:
            assert client.get(page).status_code == 200  # a GET signs nobody out


def test_a_post_only_address_still_refuses_other_methods(sign_in, customer, url_arguments):
    client = sign_in(customer)
    url = _url("tickets:reply", url_arguments)
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405
