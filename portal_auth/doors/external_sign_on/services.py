"""Custom sign-on: the business's own login vouches for a customer with an HS256 JWT.

The business signs `{"email": ..., "iat": ...}` with the organisation's shared secret and sends the
browser back with it as `externalToken`. A token is accepted when:

- its header says `alg: HS256` (nothing else, `none` least of all) and its signature checks out under
  the organisation's secret; a `kid` header picks the current or the previous secret (so a business
  can rotate without downtime), and without one both are tried;
- `iat` is present, no older than 15 minutes and not in the future, with 60 seconds' allowance for
  clocks that differ; `exp` and `nbf`, when present, hold (with the same allowance);
- `aud`, when present, names the portal (settings.SITE_URL) or the organisation's slug;
- `jti`, when present, is a non-empty string;
- `email` is a syntactically valid address (an optional `name` fills in a new customer's name, unless
  invisible formatting such as a right-to-left override would disguise it); neither, nor `jti`, holds a
  control character or a lone surrogate (a malformed token: text no database stores);
- it has not been used before: each token works once, keyed on its `jti` when it has one and on
  its decoded signature otherwise (never on its text, which can be re-encoded).

PyJWT does the cryptography, including the constant-time signature comparison.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.exceptions import InvalidJTIError, InvalidSubjectError

from portal_auth.access_log import log_access
from portal_auth.models import AccessEvent, Customer, Organisation, UsedExternalToken, normalise_email
from portal_auth.services import customer_get_or_create
from portal_core.origin import ClientOrigin
from portal_core.text import has_invisible_formatting, has_unstorable, one_line

METHOD = "external_sign_on"
ALGORITHM = "HS256"
MAX_AGE = timedelta(minutes=15)
CLOCK_SKEW = timedelta(seconds=60)
MAX_TOKEN_LENGTH = 4096
# Named in the access log when a token asks for one of these; anything else is "another algorithm".
_KNOWN_ALGORITHMS = {"none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"}


class SignOnRefused(Exception):
    """A token that does not sign anyone in. `reason` is for the access log only, never for the page."""

    def __init__(self, reason: str, *, email: str = "", malformed: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.email = email
        self.malformed = malformed


@dataclass(frozen=True)
class VerifiedToken:
    email: str
    name: str
    single_use_key: str
    usable_until: datetime
    secret: str  # "current" or "previous": tells staff when the previous secret is no longer in use
    name_left_out: bool = False  # the token's name had invisible formatting


def accepted_audiences(organisation: Organisation) -> list[str]:
    return [settings.SITE_URL, organisation.slug]


def _secrets_to_try(organisation: Organisation, header: dict) -> list[tuple[str, str]]:
    current = ("current", organisation.external_sign_on_secret)
    previous = ("previous", organisation.external_sign_on_previous_secret)
    kid = header.get("kid")
    if kid is None:
        return [pair for pair in (current, previous) if pair[1]]
    if not isinstance(kid, str):
        raise SignOnRefused("kid is not a string")
    if kid and kid == organisation.external_sign_on_secret_id and current[1]:
        return [current]
    if kid and kid == organisation.external_sign_on_previous_secret_id and previous[1]:
        return [previous]
    raise SignOnRefused("unknown kid")


def _refusal(error: jwt.InvalidTokenError) -> SignOnRefused:
    """A fixed reason per PyJWT error: its messages may quote parts of the token, which the log must not hold."""
    if isinstance(error, jwt.InvalidSignatureError):
        return SignOnRefused("bad signature")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return SignOnRefused(f"missing {error.claim}")
    if isinstance(error, jwt.InvalidIssuedAtError):
        return SignOnRefused("iat is not a number")
    if isinstance(error, jwt.ImmatureSignatureError):
        return SignOnRefused("iat in the future" if "(iat)" in str(error) else "not valid yet (nbf)")
    if isinstance(error, jwt.ExpiredSignatureError):
        return SignOnRefused("expired (exp)")
    if isinstance(error, jwt.InvalidAudienceError):
        return SignOnRefused("wrong audience")
    if isinstance(error, jwt.InvalidAlgorithmError):
        return SignOnRefused("algorithm not allowed")
    if isinstance(error, InvalidJTIError):
        return SignOnRefused("jti is not a string")
    if isinstance(error, InvalidSubjectError):
        return SignOnRefused("sub is not a string")
    return SignOnRefused("malformed token", malformed=True)


def _decode(token: str, organisation: Organisation) -> tuple[dict, str]:
    """Check the signature and the registered claims; return the decoded token and which secret signed it."""
    try:
        header = jwt.get_unverified_header(token)
        # Read unverified only to know whether `aud` must be checked; the signature check below covers it.
        has_audience = "aud" in jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise SignOnRefused("malformed token", malformed=True) from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise SignOnRefused("alg is not a string", malformed=True)
    if algorithm != ALGORITHM:
        named = algorithm if algorithm in _KNOWN_ALGORITHMS else "another algorithm"
        raise SignOnRefused(f"algorithm {named} not allowed")
    last_error: jwt.InvalidTokenError | None = None
    for which, secret in _secrets_to_try(organisation, header):
        try:
            decoded = jwt.decode_complete(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={"require": ["iat"]},
                audience=accepted_audiences(organisation) if has_audience else None,
                leeway=CLOCK_SKEW,
            )
        except jwt.InvalidSignatureError as error:
            last_error = error  # maybe signed with the other secret
        except jwt.InvalidTokenError as error:
            raise _refusal(error) from None
        else:
            return decoded, which
    raise _refusal(last_error or jwt.InvalidSignatureError())


def external_token_verify(*, organisation: Organisation, token: str) -> VerifiedToken:
    """Everything about a token that needs no database: raises SignOnRefused with the reason."""
    if not organisation.external_sign_on_enabled or not organisation.external_sign_on_secret:
        raise SignOnRefused("custom sign-on is off")
    if not token:
        raise SignOnRefused("no token", malformed=True)
    if len(token) > MAX_TOKEN_LENGTH:
        raise SignOnRefused("token too long", malformed=True)
    decoded, which = _decode(token, organisation)
    claims = decoded["payload"]
    # Compared as numbers first: a wildly negative iat must be refused, not overflow a datetime.
    if int(claims["iat"]) < (timezone.now() - MAX_AGE - CLOCK_SKEW).timestamp():
        raise SignOnRefused("iat too old")
    issued_at = datetime.fromtimestamp(int(claims["iat"]), tz=UTC)
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise SignOnRefused("missing email")
    if has_unstorable(email):
        raise SignOnRefused("email has a control character or lone surrogate", malformed=True)
    email = normalise_email(email)
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise SignOnRefused("invalid email") from None
    jti = claims.get("jti")
    if jti is not None and not jti.strip():
        raise SignOnRefused("empty jti", email=email)
    if jti is not None and has_unstorable(jti):
        raise SignOnRefused("jti has a control character or lone surrogate", email=email, malformed=True)
    # Hashed, so the key has a fixed length and the table holds nothing a token could be rebuilt from.
    key = f"jti:{_digest(jti.encode())}" if jti is not None else f"sig:{_digest(decoded['signature'])}"
    name = claims.get("name")
    # Line breaks and tabs from the business's own records are only spacing; any other control character is not a name.
    name = one_line(name) if isinstance(name, str) else ""
    if has_unstorable(name):
        raise SignOnRefused("name has a control character or lone surrogate", email=email, malformed=True)
    name = name[:200]
    # A name with invisible formatting would read as another (the API and the profile refuse it), but the customer
    # didn't write the token and couldn't mend it: the name is left out, not the customer, and the log says so.
    name_left_out = has_invisible_formatting(name)
    return VerifiedToken(
        email=email,
        name="" if name_left_out else name,
        single_use_key=key,
        usable_until=issued_at + MAX_AGE + CLOCK_SKEW,
        secret=which,
        name_left_out=name_left_out,
    )


def _digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def external_sign_on_accept(*, origin: ClientOrigin, organisation: Organisation, token: str) -> Customer:
    """Verify the token, use it up and return its customer (created if new). Every outcome is logged.

    The caller starts the portal session. Raises SignOnRefused.
    """
    try:
        with transaction.atomic():
            verified = external_token_verify(organisation=organisation, token=token)
            try:
                with transaction.atomic():
                    UsedExternalToken.objects.create(
                        organisation=organisation, key=verified.single_use_key, expires_at=verified.usable_until
                    )
            except IntegrityError:
                raise SignOnRefused("already used", email=verified.email) from None
            customer = customer_get_or_create(organisation=organisation, email=verified.email, name=verified.name)
            if not customer.is_active:
                raise SignOnRefused("customer deactivated", email=verified.email)
            log_access(
                origin=origin,
                organisation=organisation,
                customer=customer,
                kind=AccessEvent.Kind.EXTERNAL_SIGN_ON,
                method=METHOD,
                reason=f"signed with the {verified.secret} secret"
                + ("; its name left out: it has invisible formatting characters" if verified.name_left_out else ""),
            )
    except SignOnRefused as refusal:
        # Outside the rolled-back transaction, so the refusal stays in the log.
        _log_refusal(origin, organisation, refusal)
        raise
    return customer


def external_sign_on_preview(*, origin: ClientOrigin, organisation: Organisation, token: str) -> VerifiedToken:
    """Verify the token without using it up, to say whose account it opens. A refusal is logged.

    Raises SignOnRefused.
    """
    try:
        return external_token_verify(organisation=organisation, token=token)
    except SignOnRefused as refusal:
        _log_refusal(origin, organisation, refusal)
        raise


def _log_refusal(origin: ClientOrigin, organisation: Organisation, refusal: SignOnRefused) -> None:
    log_access(
        origin=origin,
        organisation=organisation,
        kind=AccessEvent.Kind.EXTERNAL_SIGN_ON_REFUSED,
        method=METHOD,
        email=refusal.email,
        reason=refusal.reason,
    )


def external_token_sign(*, organisation: Organisation, email: str, lifetime: timedelta | None = None) -> str:
    """A token as the business would sign it: for demos and for staff checking their set-up."""
    now = timezone.now()
    claims = {"email": email, "iat": int(now.timestamp())}
    if lifetime is not None:
        claims["exp"] = int((now + lifetime).timestamp())
    return jwt.encode(
        claims,
        organisation.external_sign_on_secret,
        algorithm=ALGORITHM,
        headers={"kid": organisation.external_sign_on_secret_id},
    )
