import re
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.password_validation import MinimumLengthValidator
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from zxcvbn import zxcvbn


class MaximumLengthValidator:
    """Refuse passwords too long to be worth hashing; NIST asks that at least 64 characters be accepted."""

    def __init__(self, max_length: int = 256):
        if max_length < 64:
            raise ValueError("At least 64 characters must be accepted.")
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                "This password is too long. It may have at most %(max_length)d characters.",
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self):
        return f"Your password may have up to {self.max_length} characters."


class _Validators:
    @cached_property
    def all(self):
        return password_validation.get_password_validators(
            cast(list[dict[str, Any]], settings.PORTAL_PASSWORD_VALIDATORS)
        )


_validators = _Validators()


def validate_customer_password(password: str, customer) -> None:
    password_validation.validate_password(password, user=customer, password_validators=_validators.all)


def customer_password_hint() -> str:
    """What a customer choosing a password is told beforehand: one sentence, not every rule (each rule that a
    password breaks is said when it is refused)."""
    shortest = max(
        (validator.min_length for validator in _validators.all if isinstance(validator, MinimumLengthValidator)),
        default=0,
    )
    at_least = f"At least {shortest} characters; " if shortest else ""
    return f"{at_least}a few unrelated words make a strong password that is easy to remember."


_SEPARATORS = re.compile(r"[\s._,;:+\-]+")
_LONG_REPEATS = re.compile(r"(.+?)\1{2,}", re.DOTALL)
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; its cost grows fast with length
# Words of the portal itself, which a guesser who has seen its pages would try first.
PORTAL_WORDS = ("portal", "customer", "password", "booking", "bookings", "ticket", "tickets", "support", "sign in")

# What a customer is told about each kind of weakness zxcvbn finds; `_REASONS_FIRST` says which tell most.
_REPEAT = "It repeats itself, which makes it hardly harder to guess than what it repeats."
_SEQUENCE = "It runs in order, like abcdef or 987654."
_KEYBOARD = "It follows a row of keys on the keyboard."
_COMMON = "It is built on passwords many people use, which are the first ones tried."
_CONTEXT = "It uses your email address, your name or the portal's own words, which anyone would try first."
_DATE = "It contains a date or a year, which are easy to guess."
_WORDS = "It is made of a few common words or names: add another word or two, less common ones."
_REASONS_FIRST = (_CONTEXT, _COMMON, _REPEAT, _KEYBOARD, _SEQUENCE, _DATE, _WORDS)


def _reason(match: dict) -> str | None:
    pattern = match["pattern"]
    if pattern == "dictionary":
        return {"passwords": _COMMON, "user_inputs": _CONTEXT}.get(match["dictionary_name"], _WORDS)
    return {"repeat": _REPEAT, "sequence": _SEQUENCE, "spatial": _KEYBOARD, "date": _DATE, "regex": _DATE}.get(pattern)


def _guessability(password: str, context: list[str], enough: float) -> tuple[float, list[str]]:
    """log10 of the guesses zxcvbn expects `password` to need (counted up to `enough`), and why it is low.

    A run of three or more copies counts as two: a repeat is no stronger for going on, and zxcvbn could
    not see one that spans its pieces. Longer passwords are scored in zxcvbn-sized pieces whose guesses
    multiply.
    """
    password = _LONG_REPEATS.sub(r"\1\1", password)
    total = 0.0
    found: set[str] = set()
    for start in range(0, len(password), _ZXCVBN_MAX):
        result = zxcvbn(password[start : start + _ZXCVBN_MAX], user_inputs=context)
        total += result["guesses_log10"]
        found.update(filter(None, map(_reason, result["sequence"])))
        if total >= enough:
            break
    return total, [reason for reason in _REASONS_FIRST if reason in found]


def _context_words(customer, portal_words: list[str]) -> list[str]:
    words = list(portal_words)
    host = urlsplit(settings.SITE_URL).hostname or ""
    phrases = [host]
    if customer is not None:
        phrases += [customer.email, customer.email.partition("@")[0], customer.name]
        if customer.organisation_id:
            phrases += [customer.organisation.name, customer.organisation.public_name, customer.organisation.slug]
    for phrase in filter(None, (p.lower().strip() for p in phrases)):
        # Whole, joined up (as a separator-free password would have it) and word by word.
        words += [phrase, _SEPARATORS.sub("", phrase), *_SEPARATORS.split(phrase)]
    return [word for word in dict.fromkeys(words) if len(word) > 1]


class GuessabilityValidator:
    """Refuse passwords that zxcvbn expects to fall to fewer than 10**min_guesses_log10 guesses.

    Length alone lets through repeats, keyboard rows, sequences, common passwords and the customer's
    own email or the portal's name with a year: zxcvbn finds those patterns. Separators are ignored
    too ("lumiere customer portal" is scored as "lumierecustomerportal"), since zxcvbn would
    otherwise count each space as a random character. The customer is told which patterns it found.
    """

    def __init__(self, min_guesses_log10: float = 10, min_length: int = 15, portal_words: list[str] | None = None):
        self.min_guesses_log10 = min_guesses_log10
        # Shorter ones are refused by the length rule already: one reason at a time is clearer.
        self.min_length = min_length
        self.portal_words = portal_words if portal_words is not None else list(PORTAL_WORDS)

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            return
        password = password[:256]  # longer ones are refused by the maximum length rule
        context = _context_words(user, self.portal_words)
        as_typed = _guessability(password, context, self.min_guesses_log10)
        joined_up = _guessability(_SEPARATORS.sub("", password), context, self.min_guesses_log10)
        guesses_log10, reasons = min(as_typed, joined_up, key=lambda scored: scored[0])
        if guesses_log10 >= self.min_guesses_log10:
            return
        raise ValidationError(
            "This password is too easy to guess. %(reasons)s Choose a few unrelated words instead: "
            "a phrase only you would think of.",
            code="password_too_guessable",
            params={"reasons": " ".join(reasons[:2]) or "It follows a pattern that is tried early."},
        )

    def get_help_text(self) -> str:
        return (
            "Avoid repeats, keyboard rows, sequences, dates, and words from your email or this portal: "
            "a few unrelated words make a strong password."
        )
