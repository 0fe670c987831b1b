"""API keys: made once and shown once, checked in constant time, revocable; and the API's log of calls."""

import time
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from ninja.security import HttpBearer

from portal_auth.models import ApiCall, ApiKey, Organisation, hash_token
from portal_core import ratelimit
from portal_core.origin import ClientOrigin

# "Last used" is written at most this often per key, so a busy backend's calls don't each write the key's row.
LAST_USED_PRECISION = timedelta(minutes=1)


def api_key_create(
    *, organisation: Organisation, name: str, created_by: AbstractBaseUser | None = None
) -> tuple[ApiKey, str]:
    """A new key for `organisation`, and the whole key to hand to the business: it is stored nowhere."""
    key, raw = ApiKey.prepare(organisation=organisation, name=name, created_by=created_by)
    key.save()
    return key, raw


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The live key `raw` is, with its organisation; None for an unknown, malformed or revoked one alike."""
    prefix, _, rest = raw.partition("_")
    public_id, _, secret = rest.partition("_")
    key = None
    if prefix == ApiKey.PREFIX and public_id and secret and len(raw) <= 200:
        key = ApiKey.objects.select_related("organisation").filter(public_id=public_id).first()
    # Hashed and compared whether or not the id matched, so the answer takes as long either way.
    expected = key.secret_hash if key is not None else hash_token("no such key")
    matches = constant_time_compare(expected, hash_token(secret))
    if key is None or not matches or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer pk_…`: the key's organisation is the only one its calls reach."""

    def authenticate(self, request, token):
        key = api_key_authenticate(token)
        if key is None:
            # Keys can't be guessed, but a flood of bad ones is refused before it costs more.
            ratelimit.consume("api_key_refused", request)
            return None
        request.api_key = key
        ratelimit.consume("api_call", request, key=f"api_key:{key.pk}")
        return key


class ApiCallLogMiddleware:
    """Every call of the API, answered or refused, in the API log staff read: the key's name, the route, the status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.monotonic()
        response = self.get_response(request)
        key: ApiKey | None = getattr(request, "api_key", None)
        match = request.resolver_match
        # The route, never the path: the path may name a customer's email, and a route can't hold a key.
        endpoint = "/" + match.route.replace("<", "{").replace(">", "}") if match else "(no such route)"
        ip = ClientOrigin.from_request(request).ip
        ApiCall.objects.create(
            organisation=key.organisation if key else None,
            api_key=key,
            key_name=key.name if key else "",
            method=request.method[:10],
            endpoint=endpoint[:200],
            status=response.status_code,
            ip=ip,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        return response
