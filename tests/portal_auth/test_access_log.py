"""The access log's one writer: what it keeps of an origin, and what it refuses to keep."""

from django.test import RequestFactory

from portal_auth.access_log import LookRefused, log_access, refused_look_log
from portal_auth.models import AccessEvent
from portal_core.origin import ClientOrigin


def test_text_the_database_cannot_hold_is_kept_readably(organisation):
    request = RequestFactory().get("/", HTTP_USER_AGENT="Probe\x00Agent\ud800/1.0", REMOTE_ADDR="192.0.2.7")

    origin = ClientOrigin.from_request(request)
    log_access(
        origin=origin, organisation=organisation, kind=AccessEvent.Kind.ACCESS_REFUSED, reason="booking ab\x00cd…"
    )

    event = AccessEvent.objects.get()
    assert event.reason == "booking ab\ufffdcd…"
    assert event.user_agent == "Probe\ufffdAgent\ufffd/1.0"
    assert event.ip == "192.0.2.7"


def test_a_refused_look_names_the_customer_and_what_they_asked_for(organisation, customer):
    request = RequestFactory().get("/", HTTP_USER_AGENT="ProbeBrowser/1.0", REMOTE_ADDR="192.0.2.8")

    refused_look_log(
        origin=ClientOrigin.from_request(request), organisation=organisation, customer=customer, what="ticket 42"
    )

    event = AccessEvent.objects.get()
    assert event.kind == AccessEvent.Kind.ACCESS_REFUSED
    assert (event.customer, event.email, event.reason) == (customer, customer.email, "ticket 42")
    assert (event.ip, event.user_agent) == ("192.0.2.8", "ProbeBrowser/1.0")


def test_a_refused_look_is_a_not_found_to_the_customer():
    from django.http import Http404

    assert isinstance(LookRefused("ticket 42"), Http404)


def test_an_origin_without_a_request_is_logged_as_it_is(organisation):
    log_access(
        origin=ClientOrigin.command("send_portal_links"),
        organisation=organisation,
        kind=AccessEvent.Kind.ACCESS_LINK_SENT,
    )

    event = AccessEvent.objects.get()
    assert (event.ip, event.user_agent) == (None, "manage.py send_portal_links")


def test_probing_past_the_limit_is_refused_with_429_and_logs_no_more(organisation, customer, sign_in, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "refused_look": "60/h/ip,3/h/key"}
    client = sign_in(customer)

    statuses = [client.get(f"/{organisation.slug}/support/{number}/").status_code for number in range(900, 905)]

    assert statuses == [404, 404, 404, 429, 429]
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED, customer=customer).count() == 3
