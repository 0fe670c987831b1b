import dataclasses

import pytest
from django.test import RequestFactory

from portal_core.origin import USER_AGENT_MAX_LENGTH, ClientOrigin, client_ip


def test_behind_trusted_proxies_the_visitors_address_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    # The visitor may write anything on the left; only the proxy's own entry is believed.
    assert client_ip(request) == "203.0.113.7"
    assert ClientOrigin.from_request(request).ip == "203.0.113.7"


def test_without_trusted_proxies_forwarded_headers_are_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client_ip(request) == "10.0.0.9"
    assert ClientOrigin.from_request(request).ip == "10.0.0.9"


def test_garbage_in_the_forwarded_header_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(request) == "10.0.0.9"


def test_origin_of_a_request_without_an_address_has_none():
    request = RequestFactory().get("/", REMOTE_ADDR="")
    assert ClientOrigin.from_request(request) == ClientOrigin(ip=None, user_agent="")


def test_origin_keeps_the_user_agent_trimmed_to_what_the_log_stores():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 1000)
    origin = ClientOrigin.from_request(request)
    assert origin.user_agent.startswith("Mozilla/5.0 ")
    assert len(origin.user_agent) == USER_AGENT_MAX_LENGTH


def test_a_commands_origin_names_the_command_and_has_no_address():
    assert ClientOrigin.command("send_portal_links") == ClientOrigin(ip=None, user_agent="manage.py send_portal_links")


def test_origin_is_frozen():
    origin = ClientOrigin(ip="10.0.0.9", user_agent="curl/8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        origin.ip = "10.0.0.10"  # type: ignore[misc]
