import socket
import threading

import pytest
from django.core.cache import caches

REDIS = ("127.0.0.1", 6379)


def _redis_answers() -> bool:
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_answers(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "redis": {"BACKEND": "portal_core.cache.PortalRedisCache", "LOCATION": "redis://127.0.0.1:6379/13"},
    }
    cache = caches["redis"]
    cache.clear()
    yield cache
    cache.clear()


def test_the_redis_cache_answers_as_djangos_does(redis_cache):
    redis_cache.set("page", (b"text/html", b"<p>hello</p>"), timeout=60)
    assert redis_cache.add("version", "a1") is True
    assert redis_cache.add("version", "b2") is False
    assert redis_cache.get_many(["page", "version", "missing"]) == {
        "page": (b"text/html", b"<p>hello</p>"),
        "version": "a1",
    }
    redis_cache.delete_many(["page", "version"])
    assert redis_cache.get("page") is None and redis_cache.get("version") is None


def test_one_client_serves_every_call(redis_cache):
    redis_cache.get("anything")
    client = redis_cache._cache.get_client()
    redis_cache.set("anything", 1)
    assert redis_cache._cache.get_client() is client
    assert redis_cache._cache.get_client(write=True) is client  # one server: reads and writes share a pool


def test_threads_sharing_a_client_each_read_their_own_values(redis_cache):
    client = redis_cache._cache

    def work(number: int, seen: list) -> None:
        for step in range(50):
            client.set(f"thread:{number}", step, None)
            seen.append(client.get(f"thread:{number}", None) == step)

    seen: list[bool] = []
    threads = [threading.Thread(target=work, args=(number, seen)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 400 and all(seen)
