from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property


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
        return password_validation.get_password_validators(settings.PORTAL_PASSWORD_VALIDATORS)


_validators = _Validators()


def validate_customer_password(password: str, customer) -> None:
    password_validation.validate_password(password, user=customer, password_validators=_validators.all)


def customer_password_help() -> list[str]:
    return password_validation.password_validators_help_texts(_validators.all)
