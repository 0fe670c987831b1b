from django import forms
from django.core.exceptions import ValidationError

from portal_auth.access_log import log_access
from portal_auth.known_browsers import rate_limit_key
from portal_auth.models import AccessEvent, Customer, Organisation, normalise_email
from portal_auth.passwords import customer_password_hint, validate_customer_password
from portal_auth.services import customer_authenticate
from portal_core import ratelimit
from portal_core.origin import ClientOrigin

SIGN_IN_REFUSED = "That email and password don't match. Check both, or choose a new password below."


EMAIL_ERRORS = {"required": "Enter your email address.", "invalid": "Enter an email address like name@example.com."}


class SignInForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False,
        max_length=1024,
        error_messages={"required": "Enter your password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.organisation = organisation
        self.customer: Customer | None = None
        if self.initial.get("email"):  # known already (from a link that just set the password): the password is next
            del self.fields["email"].widget.attrs["autofocus"]
            self.fields["password"].widget.attrs["autofocus"] = True

    def clean(self):
        email = normalise_email(self.cleaned_data.get("email", ""))
        password = self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data
        # The slot is taken before the password is checked, so parallel guesses can't all slip past the limit.
        key = rate_limit_key(self.request, self.organisation, email)
        attempt = ratelimit.reserve("sign_in_failed", self.request, key=key)
        self.customer = customer_authenticate(organisation=self.organisation, email=email, password=password)
        if self.customer is None:
            log_access(
                origin=ClientOrigin.from_request(self.request),
                organisation=self.organisation,
                kind=AccessEvent.Kind.SIGN_IN_FAILED,
                method="password",
                email=email,
                reason="wrong email or password",
            )
            raise ValidationError(SIGN_IN_REFUSED, code="invalid_login")
        attempt.release()  # only failures are limited
        return self.cleaned_data


class PasswordLinkForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def __init__(self, *args, request, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.organisation = organisation

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        ratelimit.consume("password_link", self.request, key=rate_limit_key(self.request, self.organisation, email))
        return email


class SetPasswordForm(forms.Form):
    password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=1024,
        error_messages={"required": "Choose a password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
    password2 = forms.CharField(
        label="New password again",
        strip=False,
        max_length=1024,
        error_messages={"required": "Enter the same password again."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["password1"].help_text = customer_password_hint()

    def clean(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        # Every problem at once: a customer told only that the two differ would retype both to learn the rest.
        if password1:
            try:
                validate_customer_password(password1, self.customer)
            except ValidationError as error:
                self.add_error("password1", error)
        if password1 and password2 and password1 != password2:
            self.add_error("password2", ValidationError("The two passwords differ.", code="password_mismatch"))
        return self.cleaned_data

    @property
    def password(self) -> str:
        return self.cleaned_data["password1"]
