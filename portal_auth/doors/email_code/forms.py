from django import forms
from django.core.exceptions import ValidationError

from portal_auth.access_log import log_access
from portal_auth.doors.email_code.services import CODE_DIGITS, METHOD
from portal_auth.doors.password.forms import PasswordLinkForm
from portal_auth.known_browsers import rate_limit_key
from portal_auth.models import AccessEvent, normalise_email
from portal_core import ratelimit
from portal_core.origin import ClientOrigin


def code_request_count(request, organisation, email: str) -> None:
    """Count one code asked for, whether or not the email is known; RateLimited (logged) past the limit."""
    try:
        ratelimit.consume("sign_in_code_request", request, key=rate_limit_key(request, organisation, email))
    except ratelimit.RateLimited:
        log_access(
            origin=ClientOrigin.from_request(request),
            organisation=organisation,
            kind=AccessEvent.Kind.SIGN_IN_CODE_REFUSED,
            method=METHOD,
            email=email,
            reason="too many codes asked for",
        )
        raise


class CodeRequestForm(PasswordLinkForm):
    """The email to send a code to: the same field as the password link form, on its own rate limit."""

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        code_request_count(self.request, self.organisation, email)
        return email


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Sign-in code",
        max_length=40,
        error_messages={"required": f"Enter the {CODE_DIGITS}-digit code from the email."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "class": "code-input",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self):
        # Pasted with spaces or a dash ("123 456", "123-456") it is the same code.
        code = "".join(self.cleaned_data["code"].split()).replace("-", "")
        if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
            raise ValidationError(f"Enter the {CODE_DIGITS}-digit code from the email.", code="malformed")
        return code
