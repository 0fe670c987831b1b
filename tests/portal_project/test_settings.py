"""portal_project/settings.py: the mailer read from configuration, and what only shows under a real server
(SQLite serving concurrent requests and background work)."""

import re
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar

from portal_project.settings import _mailer

EMAIL_DEADLINE_SECONDS = 60


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request_password_link(portal, email: str, start: threading.Barrier) -> int:
    """A customer's browser: opens the form, then (with the others, at once) asks for a link."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)
    url = f"{portal.base_url}/{portal.organisation}/password/"
    with browser.open(url, timeout=30) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode()).group(1)
    body = urllib.parse.urlencode({"email": email, "csrfmiddlewaretoken": token}).encode()
    start.wait(timeout=30)
    try:
        with browser.open(urllib.request.Request(url, data=body, headers={"Referer": url}), timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as answer:
        return answer.code


def wait_for_emails(portal, count: int) -> list:
    deadline = time.monotonic() + EMAIL_DEADLINE_SECONDS
    while len(portal.smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)  # the task worker, another process, is sending: nothing to freeze
    return portal.smtp.messages


def test_sqlite_serves_concurrent_password_link_requests_each_with_exactly_one_email(live_portal_on_sqlite):
    portal = live_portal_on_sqlite
    start = threading.Barrier(len(portal.customers))
    statuses = {}

    def customer(email):
        statuses[email] = request_password_link(portal, email, start)

    threads = [threading.Thread(target=customer, args=(email,)) for email in portal.customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert set(statuses.values()) == {302}, statuses
    wait_for_emails(portal, len(portal.customers))
    # What the minutely cron would retry: an email left pending after being sent would go out twice.
    portal.manage("send_outbox")
    recipients = Counter(str(message["To"]) for message in portal.smtp.messages)
    assert recipients == Counter(portal.customers)
    with sqlite3.connect(portal.database) as database:
        statuses_in_outbox = dict(database.execute("SELECT status, COUNT(*) FROM outbox_outboxemail GROUP BY status"))
    assert statuses_in_outbox == {"sent": len(portal.customers)}
    log = portal.server_log()
    assert "database is locked" not in log
    assert "Background work failed" not in log


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
