import os
import subprocess
import sys
from datetime import timedelta
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal_auth.management.commands import purge_expired
from portal_auth.models import (
    AccessEvent,
    ApiCall,
    Customer,
    CustomerSession,
    CustomerToken,
    Organisation,
    SignInCode,
    UsedExternalToken,
)
from portal_auth.passwords import validate_customer_password
from portal_core import ratelimit
from portal_core.models import RateLimitCounter

ROOT = Path(__file__).resolve().parents[2]


def run(command, *args, **options):
    out = StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


def test_create_organisation(db):
    output = run("create_organisation", "Voyages Lumière", "--support-email", "help@lumiere.example")
    organisation = Organisation.objects.get(slug="voyages-lumiere")
    assert organisation.requires_sign_in
    assert organisation.support_email == "help@lumiere.example"
    assert organisation.doors == ["password", "access_link"]  # the default doors, custom sign-on left closed
    assert "https://portal.example.test/voyages-lumiere/" in output


@pytest.mark.parametrize("colour", ["blue", "#ffff00"])  # not a colour; white buttons' text unreadable on it
def test_create_organisation_refuses_bad_input_and_saves_nothing(db, colour):
    with pytest.raises(CommandError, match="accent colour"):
        run("create_organisation", "Bad Colours", "--accent-colour", colour)
    assert not Organisation.objects.exists()


def test_create_organisation_refuses_a_taken_slug(organisation):
    with pytest.raises(CommandError, match="slug"):
        run("create_organisation", "Copy", "--slug", organisation.slug)


@pytest.mark.parametrize("slug", ["api", "admin", "Static", "healthz"])
def test_create_organisation_refuses_a_slug_the_site_itself_uses(db, slug):
    with pytest.raises(CommandError, match="taken by the site itself"):
        run("create_organisation", "Shadowed", "--slug", slug)
    assert not Organisation.objects.exists()


def test_purge_expired_deletes_dead_tokens_and_keeps_live_ones(customer):
    live, _ = CustomerToken.issue(customer=customer, purpose="access_link", lifetime=timedelta(days=30))
    old_expired, _ = CustomerToken.issue(customer=customer, purpose="set_password", lifetime=timedelta(hours=1))
    CustomerToken.objects.filter(pk=old_expired.pk).update(expires_at=timezone.now() - timedelta(days=31))
    recently_used, _ = CustomerToken.issue(customer=customer, purpose="set_password", lifetime=timedelta(hours=1))
    CustomerToken.objects.filter(pk=recently_used.pk).update(used_at=timezone.now())
    AccessEvent.objects.create(organisation=customer.organisation, kind="sign_in", token=old_expired)
    UsedExternalToken.objects.create(
        organisation=customer.organisation, key="a", expires_at=timezone.now() - timedelta(minutes=1)
    )
    UsedExternalToken.objects.create(
        organisation=customer.organisation, key="b", expires_at=timezone.now() + timedelta(minutes=1)
    )

    for minutes in (-1, 1):
        SignInCode.objects.create(
            organisation=customer.organisation,
            email=customer.email,
            code_hmac="x",
            browser_hash="y",
            expires_at=timezone.now() + timedelta(minutes=minutes),
        )

    live_session, ended_session, expired_session = (
        CustomerSession.objects.create(
            organisation=customer.organisation,
            customer=customer,
            method="password",
            session_version=1,
            expires_at=timezone.now() + timedelta(minutes=minutes),
        )
        for minutes in (1, 1, -1)
    )
    CustomerSession.objects.filter(pk=ended_session.pk).update(ended_at=timezone.now())

    output = run("purge_expired")

    assert list(CustomerSession.objects.values_list("pk", flat=True)) == [live_session.pk]
    assert set(CustomerToken.objects.values_list("pk", flat=True)) == {live.pk, recently_used.pk}
    assert SignInCode.objects.get().expires_at > timezone.now()
    assert list(UsedExternalToken.objects.values_list("key", flat=True)) == ["b"]
    assert AccessEvent.objects.get().token is None  # the log outlives the token
    assert (
        "Deleted 1 expired tokens, 1 used sign-on records, 1 sign-in codes, 2 session records, 0 API log calls"
        " and 0 rate-limit counters; expired sessions cleared." in output
    )


def test_purge_expired_deletes_dead_tokens_a_chunk_at_a_time_however_many(customer, monkeypatch):
    monkeypatch.setattr(purge_expired, "CHUNK", 3)  # as 5,000 of 100,000: the access log's UPDATE names a chunk
    tokens = [
        CustomerToken.prepare(customer=customer, purpose="access_link", lifetime=timedelta(days=-40))[0]
        for _ in range(8)
    ]
    CustomerToken.objects.bulk_create(tokens)
    for token in CustomerToken.objects.all():
        AccessEvent.objects.create(organisation=customer.organisation, kind="sign_in", token=token)

    with CaptureQueriesContext(connection) as statements:
        assert "Deleted 8 expired tokens" in run("purge_expired")

    assert not CustomerToken.objects.exists() and AccessEvent.objects.filter(token=None).count() == 8
    deletes = [q["sql"] for q in statements if q["sql"].startswith('DELETE FROM "portal_auth_customertoken"')]
    assert len(deletes) == 3  # 3, 3 and 2


def test_purge_expired_clears_expired_sessions_and_old_api_log_calls(db, organisation):
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    live, expired = SessionStore(), SessionStore()
    for session, seconds in ((live, 3600), (expired, -1)):
        session["visited"] = True
        session.set_expiry(seconds)
        session.save()
    for days in (100, 10):
        ApiCall.objects.create(
            organisation=organisation,
            method="GET",
            endpoint="/api/v1/ping",
            status=401,
            created_at=timezone.now() - timedelta(days=days),
        )

    assert "1 API log calls" in run("purge_expired")

    assert SessionStore().exists(live.session_key) and not SessionStore().exists(expired.session_key)
    assert list(ApiCall.objects.values_list("status", flat=True)) == [401]
    assert ApiCall.objects.get().created_at > timezone.now() - timedelta(days=11)


@pytest.mark.parametrize("option", ["--keep-days", "--api-log-days"])
@pytest.mark.parametrize("days", ["-30", "1000000"])
def test_purge_expired_refuses_a_retention_it_cant_keep(customer, option, days):
    live, _ = CustomerToken.issue(customer=customer, purpose="access_link", lifetime=timedelta(days=20))

    with pytest.raises(CommandError, match="between 0 and 3650"):
        run("purge_expired", option, days)

    assert CustomerToken.objects.filter(pk=live.pk).exists()


def test_purge_expired_deletes_rate_limit_counters_only_once_their_window_has_ended(db, settings):
    settings.PORTAL_RATE_LIMITS = {"try": "1/h/key"}
    request = RequestFactory().post("/")
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        ratelimit.consume("try", request, key="ended")
    ratelimit.consume("try", request, key="running")

    output = run("purge_expired")

    assert RateLimitCounter.objects.count() == 1
    assert "1 rate-limit counters" in output
    with pytest.raises(ratelimit.RateLimited):  # the running window still counts
        ratelimit.consume("try", request, key="running")


def test_seed_demo_creates_an_organisation_customers_and_prints_how_to_sign_in(db, settings):
    settings.DEBUG = True
    output = run("seed_demo", "--site-url", "http://127.0.0.1:8000")
    organisation = Organisation.objects.get(slug="demo")
    for email in ("alice@example.com", "bob@example.com"):
        customer = Customer.objects.get(organisation=organisation, email=email)
        assert customer.check_password("demo password for the portal")
        validate_customer_password("demo password for the portal", customer)  # the demo obeys its own rules
        assert email in output
    assert "http://127.0.0.1:8000/demo/sign-in/" in output
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
    # Running it again adds nothing twice.
    run("seed_demo")
    assert Organisation.objects.filter(slug="demo").count() == 1


def test_seed_demo_creates_no_known_admin_password_outside_debug(db):
    output = run("seed_demo")
    assert not get_user_model().objects.filter(username="admin").exists()
    assert "createsuperuser" in output and "admin / admin" not in output


def _manage(*args, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECRET_KEY",
            "EMAIL_URL",
            "ALLOWED_HOSTS",
            "SITE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "production-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "portal.example.com",
    "SITE_URL": "https://portal.example.com",
    "EMAIL_URL": "smtp://mail.example.com:587",
    "TRUSTED_PROXY_COUNT": "1",
}


@pytest.fixture
def production(db) -> dict[str, str]:
    """PRODUCTION's settings, on the tests' own database: Django's checks of a generated column (the tickets' folded
    subject) ask the database server its version, so `check` needs a database that exists."""
    database = connection.settings_dict
    if connection.vendor != "postgresql":
        return PRODUCTION
    user = f"{database['USER']}:{database['PASSWORD']}" if database["PASSWORD"] else database["USER"]
    url = f"postgres://{user}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    return {**PRODUCTION, "DATABASE_URL": url}


def test_deploy_check_is_clean_with_production_settings(production):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_when_no_proxy_is_counted(production):
    """Behind the README's nginx, an uncounted proxy makes every rate limit per address one for the whole site."""
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**production, "TRUSTED_PROXY_COUNT": "0"})
    assert result.returncode != 0
    assert "portal_core.W001" in result.stderr + result.stdout
    assert "TRUSTED_PROXY_COUNT=1" in result.stderr + result.stdout


def test_production_settings_fail_loudly_without_a_site_url(production):
    """Every emailed link would lead to this machine's loopback address."""
    without = {key: value for key, value in production.items() if key != "SITE_URL"}
    result = _manage("check", **without)
    assert result.returncode != 0
    assert "Set the SITE_URL environment variable" in result.stderr


@pytest.mark.parametrize("site_url", ["http://portal.example.com", "https://127.0.0.1:8000"])
def test_deploy_check_warns_of_a_site_url_no_customer_can_reach_safely(site_url, production):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **{**production, "SITE_URL": site_url})
    assert result.returncode != 0
    assert "portal_core.W002" in result.stderr + result.stdout


def test_a_rate_limit_written_wrong_stops_the_portal_at_its_check(production):
    result = _manage("check", **{**production, "RATE_LIMIT_SIGN_IN_FAILED": "5/5min/ip"})
    assert result.returncode != 0
    assert "portal_core.E002" in result.stderr and "'5/5min/ip' is no rate limit" in result.stderr


def test_an_email_service_needs_no_email_url(tmp_path, production):
    without = {key: value for key, value in production.items() if key != "EMAIL_URL"}
    backend = {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend", "ANYMAIL_POSTMARK_SERVER_TOKEN": "t"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **without, **backend, LOG_LEVEL="warning")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_fail_loudly_without_a_secret_key():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="portal.example.com", EMAIL_URL="smtp://mail.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
