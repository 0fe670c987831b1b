import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from portal_auth.sessions import portal_sign_in
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory
from tests.smtp import SmtpServer


@pytest.fixture(autouse=True)
def _fresh_media(settings, tmp_path):
    # Rate-limit counters need no clearing: they are rows, rolled back or flushed with each test's data.
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def production_cache(settings, db):
    """The production default: a database cache that keeps 300 entries and swallows its own write errors."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_cache"}
    }
    call_command("createcachetable", verbosity=0)
    yield
    cache.clear()


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory()


@pytest.fixture
def customer(organisation):
    return CustomerFactory(organisation=organisation, with_password=True)


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def admin_client(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def sign_in():
    """Return a client signed in to the portal as the given customer (the door does not matter)."""

    def _sign_in(customer, client=None, method="password"):
        client = client or Client()
        request = _SessionRequest(client)
        portal_sign_in(request, customer, method=method)
        request.save()
        return client

    return _sign_in


class _SessionRequest:
    """Just enough of a request to open a portal session for a test client."""

    def __init__(self, client):
        from importlib import import_module

        from django.conf import settings

        self.client = client
        self.session = import_module(settings.SESSION_ENGINE).SessionStore()
        self.META = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "pytest"}

    def save(self):
        from django.conf import settings

        self.session.save()
        self.client.cookies[settings.SESSION_COOKIE_NAME] = self.session.session_key


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django sends to it."""
    server = SmtpServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    yield server
    server.stop()


def link_in(text: str, path_contains: str) -> str:
    """The first absolute link in `text` whose path contains `path_contains`."""
    for url in re.findall(r"https?://[^\s\"'<>]+", text):
        if path_contains in url:
            return url
    raise AssertionError(f"No link containing {path_contains!r} in:\n{text}")
