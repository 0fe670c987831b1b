import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import RequestFactory

from portal_auth import ratelimit
from portal_auth.ratelimit import RateLimited, Rule, parse_rules


def test_rules_are_read_from_data():
    assert parse_rules("10/m/ip, 5/5m/key,3/h/key,1/30s/ip,2/d/ip") == [
        Rule(10, 60, "ip"),
        Rule(5, 300, "key"),
        Rule(3, 3600, "key"),
        Rule(1, 30, "ip"),
        Rule(2, 86400, "ip"),
    ]


def test_unknown_scope_is_a_configuration_error():
    with pytest.raises(ValueError):
        parse_rules("5/m/user")


def test_key_limit_counts_per_key_and_ip_limit_across_keys(settings):
    settings.PORTAL_RATE_LIMITS = {"try": "3/m/ip,2/m/key"}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request, key="a")
    ratelimit.consume("try", request, key="a")
    with pytest.raises(RateLimited) as raised:
        ratelimit.consume("try", request, key="a")
    assert 0 < raised.value.retry_after <= 60
    ratelimit.consume("try", request, key="b")  # the ip's third
    with pytest.raises(RateLimited):
        ratelimit.consume("try", request, key="c")
    other_ip = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")
    ratelimit.consume("try", other_ip, key="c")


@pytest.mark.django_db(transaction=True)
def test_counters_live_in_the_database_cache_shared_by_every_process(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache_test"}
    }
    call_command("createcachetable", verbosity=0)
    settings.PORTAL_RATE_LIMITS = {"try": "2/h/key"}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request, key="ana@example.com")
    ratelimit.consume("try", request, key="ana@example.com")
    # A second cache connection stands in for another process reading the same table.
    from django.core.cache.backends.db import DatabaseCache

    other_process = DatabaseCache("portal_cache_test", {})
    assert 2 in [other_process.get(key.split(":", 2)[2]) for key in _table_keys()]
    with pytest.raises(RateLimited):
        ratelimit.consume("try", request, key="ana@example.com")
    caches["default"].clear()


def _table_keys():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM portal_cache_test")
        return [row[0] for row in cursor.fetchall()]


def test_behind_trusted_proxies_the_visitors_address_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    # The visitor may write anything on the left; only the proxy's own entry is believed.
    assert ratelimit.client_ip(request) == "203.0.113.7"


def test_without_trusted_proxies_forwarded_headers_are_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert ratelimit.client_ip(request) == "10.0.0.9"


def test_garbage_in_the_forwarded_header_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="not-an-address")
    assert ratelimit.client_ip(request) == "10.0.0.9"


def test_visitors_behind_one_proxy_are_limited_separately(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PORTAL_RATE_LIMITS = {"try": "1/m/ip"}
    first = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2")
    ratelimit.consume("try", first)
    ratelimit.consume("try", second)
    with pytest.raises(RateLimited):
        ratelimit.consume("try", first)
