"""The emailed one-time code: eight digits that sign in the browser that asked for them.

The code proves possession of the mailbox, as an emailed link does, and nothing more. It is:

- eight digits from `secrets`, valid SIGN_IN_CODE_LIFETIME (10 minutes), usable once;
- stored only as an HMAC keyed from SECRET_KEY (a plain hash of an eight-digit space is reversed in
  microseconds), bound to the organisation and email, and compared in constant time;
- tied to the browser session that asked (`browser_hash`): typed in another browser it fails;
- dead after CODE_TRIES wrong entries, and replaced by a newer code for the same email asked for in the same
  browser (only there: a stranger asking for a code for the address must not end the one its owner is typing);
- at most MAX_LIVE_CODES live for one email, the oldest ending first;
- guarded by `sign_in_code_failed`, which counts wrong codes per organisation and email across codes,
  so asking for a new code does not reset it.

A code row is written for every request, the email known or not, so that typing a code meets the same
rules and answers either way; only an email the organisation knows receives it.
"""

import secrets
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from outbox.services import email_enqueue
from portal_auth.access_log import log_access
from portal_auth.doors.registry import EMAIL_CODE, door_is_open
from portal_auth.models import AccessEvent, Customer, Organisation, SignInCode, normalise_email
from portal_auth.services import customer_get_or_create, organisation_knows_email
from portal_core import ratelimit
from portal_core.origin import ClientOrigin

METHOD = EMAIL_CODE
CODE_TRIES = 3
# Wrong codes are limited per email (sign_in_code_failed, 10 an hour, 240 a day): against six digits those would
# find one account in twelve within a year, against eight one in a thousand, with no daily cap that a stranger
# could spend to shut the owner out.
CODE_DIGITS = 8
# Each browser's newest code lives, so this bounds the codes an address can have at once. Above what the address's
# own request limit (3 per 10-minute window, so 6 across a window's edge) lets strangers add in a code's lifetime:
# their requests can't push out the code its owner is typing.
MAX_LIVE_CODES = 10
_KEY_SALT = "portal_auth.doors.email_code"


def code_new() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hmac(*, organisation_id: int, email: str, code: str) -> str:
    return salted_hmac(_KEY_SALT, f"{organisation_id}:{email}:{code}", algorithm="sha256").hexdigest()


def browser_hash(binding: str) -> str:
    """What a code keeps of the browser that asked for it: the HMAC of a random value in its session."""
    return salted_hmac(f"{_KEY_SALT}.browser", binding, algorithm="sha256").hexdigest()


def code_lifetime_minutes() -> int:
    return int(settings.SIGN_IN_CODE_LIFETIME.total_seconds() // 60)


def browser_summary(user_agent: str) -> str:
    """A browser as a person names it ("Firefox on Windows"), from its user agent; "" when unknown."""
    agent = user_agent or ""
    browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    systems = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for mark, name in browsers if mark in agent), "")
    system = next((name for mark, name in systems if mark in agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system


@transaction.atomic
def sign_in_code_send(*, origin: ClientOrigin, organisation: Organisation, email: str, browser: str) -> None:
    """A new code for `email`, bound to the browser whose hash is `browser`; emailed only if the email is known.

    An earlier code for the email from the same browser stops working, and the oldest beyond MAX_LIVE_CODES.
    Silent for an unknown email, so a caller learns nothing.
    """
    email = normalise_email(email)
    if not door_is_open(organisation, EMAIL_CODE):
        return
    now = timezone.now()
    # Locked all at once, newest first, so two requests for one email can't each hold what the other waits for.
    live = list(
        SignInCode.objects.select_for_update()
        .filter(organisation=organisation, email=email, ended_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-pk")
        .values_list("pk", "browser_hash")
    )
    others = [pk for pk, asked_from in live if asked_from != browser]
    ended = [pk for pk, asked_from in live if asked_from == browser] + others[MAX_LIVE_CODES - 1 :]
    SignInCode.objects.filter(pk__in=ended).update(ended_at=now)
    code = code_new()
    SignInCode.objects.create(
        organisation=organisation,
        email=email,
        code_hmac=code_hmac(organisation_id=organisation.pk, email=email, code=code),
        browser_hash=browser,
        created_at=now,
        expires_at=now + settings.SIGN_IN_CODE_LIFETIME,
    )
    customer = Customer.objects.filter(organisation=organisation, email=email).first()
    if customer is not None and not customer.is_active:
        return
    if customer is None and not organisation_knows_email(organisation, email):
        return
    email_enqueue(
        organisation=organisation,
        to=email,
        template="portal_auth/emails/sign_in_code",
        context={
            "code": code,
            "email": email,
            "lifetime_minutes": code_lifetime_minutes(),
            "browser": browser_summary(origin.user_agent),
            "requested_at": now,
        },
        # Scrubbed from the outbox's stored copy once sent.
        secrets=[code],
        useless_after=now + settings.SIGN_IN_CODE_LIFETIME,
    )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        email=email,
        kind=AccessEvent.Kind.SIGN_IN_CODE_SENT,
        method=METHOD,
    )


class CodeRefused(Exception):
    """A typed code that signs nobody in. `reason` is the access log's; `message` the customer's."""

    def __init__(self, reason: str, message: str, *, retry_after: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after  # seconds, when too many wrong codes


WRONG = "That code is wrong. You have {tries} {word} left."
LAST_TRY_USED = "That code is wrong, and it no longer works. We can send you a new one."
EXPIRED = "That code has expired. We can send you a new one."
USED_UP = "That code no longer works. We can send you a new one."
OTHER_BROWSER = "That code was asked for in another browser. Type it there, or ask for a new code here."
NO_CODE = "That code is wrong. Check the newest email from us, or ask for a new code."


def _too_many(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return f"Too many wrong codes. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _checked(
    code: SignInCode | None, *, typed: str, browser: str, now: datetime, elsewhere: list[SignInCode]
) -> CodeRefused | None:
    """Why this browser's newest code refuses `typed` (counting a wrong try on it), or None if it signs in (and is
    used). `elsewhere` are the email's live codes asked for in other browsers: typed here, one of them is named."""
    if code is None:
        return CodeRefused("no code", NO_CODE)
    if code.ended_at is not None:
        return CodeRefused("used up", USED_UP)
    if code.expires_at <= now:
        return CodeRefused("expired", EXPIRED)
    typed_hmac = code_hmac(organisation_id=code.organisation_id, email=code.email, code=typed)
    if constant_time_compare(code.code_hmac, typed_hmac) and constant_time_compare(code.browser_hash, browser):
        code.ended_at = now
        code.save(update_fields=["ended_at"])
        return None
    code.failures += 1
    if code.failures >= CODE_TRIES:
        code.ended_at = now
    code.save(update_fields=["failures", "ended_at"])
    # Knowing that a code works in another browser gives nobody a way in: it signs in only there.
    if any(constant_time_compare(other.code_hmac, typed_hmac) for other in elsewhere):
        return CodeRefused("other browser", OTHER_BROWSER)
    tries = CODE_TRIES - code.failures
    if not tries:
        return CodeRefused("wrong", LAST_TRY_USED)
    return CodeRefused("wrong", WRONG.format(tries=tries, word="try" if tries == 1 else "tries"))


# Refusals that compared nothing: they spend none of the wrong-code allowance.
_NOT_A_GUESS = {"no code", "used up", "expired"}


def sign_in_code_use(
    *, origin: ClientOrigin, organisation: Organisation, email: str, browser: str, typed: str, counted_as: str = ""
) -> Customer:
    """The customer the newest code for `email` asked for in `browser` signs in, created on the first sign-in; the
    code is used up.

    Wrong codes count for `counted_as` (portal_auth.known_browsers.rate_limit_key), or the address.
    Raises CodeRefused (logged, with its reason; never the code). The caller opens the session.
    """
    email = normalise_email(email)
    try:
        # Taken before the code is compared, so parallel guesses can't all slip past the limit.
        key = counted_as or f"{organisation.pk}:{email}"
        attempt = ratelimit.reserve("sign_in_code_failed", origin, key=key)
    except ratelimit.RateLimited as limited:
        too_many = CodeRefused("too many", _too_many(limited.retry_after), retry_after=limited.retry_after)
        _log_refusal(origin, organisation, email, too_many)
        raise too_many from None
    now = timezone.now()
    with transaction.atomic():
        codes = SignInCode.objects.filter(organisation=organisation, email=email)
        newest = codes.select_for_update().filter(browser_hash=browser).order_by("-created_at", "-pk").first()
        elsewhere = list(codes.filter(ended_at__isnull=True, expires_at__gt=now).exclude(browser_hash=browser))
        refusal = _checked(newest, typed=typed, browser=browser, now=now, elsewhere=elsewhere)
        customer = None
        if refusal is None:
            customer = customer_get_or_create(organisation=organisation, email=email)
            if not customer.is_active:
                refusal = CodeRefused("customer deactivated", USED_UP)
    if refusal is not None:
        if refusal.reason in _NOT_A_GUESS:
            attempt.release()
        _log_refusal(origin, organisation, email, refusal, customer=customer)
        raise refusal
    attempt.release()  # only wrong codes are limited
    assert customer is not None
    return customer


def _log_refusal(
    origin: ClientOrigin,
    organisation: Organisation,
    email: str,
    refusal: CodeRefused,
    customer: Customer | None = None,
) -> None:
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        email=email,
        kind=AccessEvent.Kind.SIGN_IN_CODE_REFUSED,
        method=METHOD,
        reason=refusal.reason,
    )
