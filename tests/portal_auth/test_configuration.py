import socket

import pytest
from django.test import RequestFactory

from portal_core import ratelimit
from portal_core.ratelimit import RateLimited
from portal_project.settings import _mailer


def test_smtp_url_becomes_the_default_mailer():
    mailer = _mailer("smtp+tls://user:secret@smtp.example.com:587", None)
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] | {"timeout": None} == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "user",
        "password": "secret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": None,
    }


def test_file_and_console_urls():
    assert _mailer("filemail:///tmp/mails", None) == {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": "/tmp/mails"},
    }
    assert _mailer("consolemail://", None)["BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_an_anymail_backend_is_chosen_by_configuration_alone():
    mailer = _mailer("consolemail://", "anymail.backends.postmark.EmailBackend")
    assert mailer == {"BACKEND": "anymail.backends.postmark.EmailBackend", "OPTIONS": {}}


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
