import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import DatabaseError, OperationalError, connection
from django.test import RequestFactory

from portal_core import ratelimit
from portal_core.origin import ClientOrigin
from portal_core.ratelimit import RateLimited, Rule, parse_rules

ROOT = Path(__file__).resolve().parents[2]


def test_a_request_and_the_origin_of_it_share_one_count(db, settings):
    # Forms count by the request, services by the origin they were given: one visitor is one visitor.
    settings.PORTAL_RATE_LIMITS = {"try": "2/m/ip"}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request)
    ratelimit.consume("try", ClientOrigin.from_request(request))
    with pytest.raises(RateLimited):
        ratelimit.consume("try", ClientOrigin(ip="10.0.0.1", user_agent="another browser"))
    ratelimit.consume("try", ClientOrigin(ip="10.0.0.2"))


def test_an_ipv6_host_is_counted_by_its_64_block(db, settings):
    """A host is given a whole /64: walking through its addresses is one visitor; the next block is another."""
    settings.PORTAL_RATE_LIMITS = {"try": "2/m/ip"}
    ratelimit.consume("try", ClientOrigin(ip="2001:db8:1:2::1"))
    ratelimit.consume("try", ClientOrigin(ip="2001:db8:1:2:ffff:ffff:ffff:fffe"))
    with pytest.raises(RateLimited):
        ratelimit.consume("try", ClientOrigin(ip="2001:db8:1:2:abcd::9"))
    ratelimit.consume("try", ClientOrigin(ip="2001:db8:1:3::1"))
    # An IPv4 visitor written in IPv6's mapped form is that IPv4 address, not a block of others'.
    ratelimit.consume("try", ClientOrigin(ip="10.0.0.9"))
    ratelimit.consume("try", ClientOrigin(ip="::ffff:10.0.0.9"))
    with pytest.raises(RateLimited):
        ratelimit.consume("try", ClientOrigin(ip="10.0.0.9"))
    ratelimit.consume("try", ClientOrigin(ip="::ffff:10.0.0.10"))


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


def test_key_limit_counts_per_key_and_ip_limit_across_keys(db, settings):
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
def test_counters_are_shared_by_every_database_connection(settings):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is shared between threads with table locks, not waits")
    settings.PORTAL_RATE_LIMITS = {"try": "2/h/key"}
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request, key="ana@example.com")
    ratelimit.consume("try", request, key="ana@example.com")

    def from_another_process(number: int) -> None:
        ratelimit.consume("try", RequestFactory().post("/", REMOTE_ADDR="10.0.0.2"), key="ana@example.com")

    errors = _run_in_threads(1, from_another_process)
    assert [type(error) for error in errors] == [RateLimited]


def test_visitors_behind_one_proxy_are_limited_separately(db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PORTAL_RATE_LIMITS = {"try": "1/m/ip"}
    first = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2")
    ratelimit.consume("try", first)
    ratelimit.consume("try", second)
    with pytest.raises(RateLimited):
        ratelimit.consume("try", first)


def _run_in_threads(count: int, work) -> list[BaseException]:
    """Run `work(n)` in `count` real threads, each on its own database connection; return what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(number: int) -> None:
        try:
            start.wait()
            work(number)
        except BaseException as error:  # noqa: BLE001 - reported to the test, not swallowed
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


@pytest.mark.django_db(transaction=True)
def test_hits_from_eight_threads_count_exactly_400(settings, production_cache):
    if connection.vendor == "sqlite":
        pytest.skip("the in-memory SQLite test database is shared between threads with table locks, not waits")
    settings.PORTAL_RATE_LIMITS = {"try": "400/h/key"}

    def fifty_hits(number: int) -> None:
        request = RequestFactory().post("/", REMOTE_ADDR=f"10.0.1.{number}")
        for _ in range(50):
            ratelimit.consume("try", request, key="ana@example.com")

    assert _run_in_threads(8, fifty_hits) == []
    # Exactly 400 were counted: not one more is allowed, and none of the 400 was refused.
    with pytest.raises(RateLimited):
        ratelimit.consume("try", RequestFactory().post("/"), key="ana@example.com")


def test_counters_are_kept_whatever_the_cache(db, settings, production_cache):
    settings.PORTAL_RATE_LIMITS = {"try": "2/h/key"}
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request, key="ana@example.com")
    ratelimit.consume("try", request, key="ana@example.com")
    caches["default"].clear()
    with pytest.raises(RateLimited):
        ratelimit.consume("try", request, key="ana@example.com")


def test_a_counter_that_cannot_be_written_refuses_rather_than_lets_through(db, settings, production_cache):
    settings.PORTAL_RATE_LIMITS = {"try": "3/h/key"}
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.1")

    def locked(execute, sql, params, many, context):
        # Reads go through; every write to wherever counters are kept fails, as SQLite's busy writes do.
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")) and ("ratelimit" in sql or "portal_cache" in sql):
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(locked):
        with pytest.raises(DatabaseError):
            ratelimit.consume("try", request, key="ana@example.com")


_SQLITE_WORKER = """
import os, sys
import django
from django.conf import settings

settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}}
settings.PORTAL_RATE_LIMITS = {"try": "100/h/key"}
django.setup()
from django.test import RequestFactory
from portal_core import ratelimit
from portal_core.origin import ClientOrigin

if sys.argv[1] == "create":
    from django.core.management import call_command
    from django.db import connection
    from portal_core.models import RateLimitCounter

    call_command("createcachetable", verbosity=0)
    with connection.schema_editor() as editor:
        editor.create_model(RateLimitCounter)
    sys.exit(0)
passed = refused = 0
for _ in range(int(sys.argv[1])):
    try:
        ratelimit.consume("try", RequestFactory().post("/"), key="ana@example.com")
        passed += 1
    except ratelimit.RateLimited:
        refused += 1
print(passed, refused)
"""


def test_processes_sharing_a_sqlite_file_count_every_hit_or_fail(tmp_path):
    """SQLite as deployed: a file several processes write at once. Every hit counts, or the attempt fails."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }

    def worker(*args: str) -> subprocess.Popen:
        command = [sys.executable, "-c", _SQLITE_WORKER, *args]
        return subprocess.Popen(command, env=environment, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    assert worker("create").wait(timeout=120) == 0
    workers = [worker("40") for _ in range(4)]  # 160 attempts against a limit of 100
    passed = refused = failed = 0
    for process in workers:
        out, err = process.communicate(timeout=180)
        if process.returncode == 0:
            counted = [int(number) for number in out.split()]
            passed, refused = passed + counted[0], refused + counted[1]
        else:
            assert b"database is locked" in err, err.decode()[-2000:]  # failed closed, with an error
            failed += 1
    assert passed <= 100
    assert failed or (passed, refused) == (100, 60)


def _redis_running() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_running(), reason="no Redis on 127.0.0.1:6379")
def test_rate_limits_hold_with_a_redis_cache(db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": "portal-tests",
        }
    }
    settings.PORTAL_RATE_LIMITS = {"try": "2/m/key"}
    from django.core.cache import cache

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    ratelimit.consume("try", request, key="ana@example.com")
    ratelimit.consume("try", request, key="ana@example.com")
    cache.clear()  # counters are not cache entries: an emptied or evicting cache forgets none
    with pytest.raises(RateLimited):
        ratelimit.consume("try", request, key="ana@example.com")
