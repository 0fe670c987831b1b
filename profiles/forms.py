import re

from django import forms
from django.core.exceptions import ValidationError

from portal_auth.known_browsers import rate_limit_key
from portal_auth.models import Customer, normalise_email
from portal_auth.services import customer_authenticate
from portal_core import ratelimit
from portal_core.sections import OptionalEmail, optional_emails
from portal_core.sent_once import SentOnceForm
from portal_core.text import name_of_text, one_line, one_line_of_text
from profiles.models import EmailChange, Profile, language_choices
from profiles.selectors import pending_email_change
from profiles.services import ProfileDetails

_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()./-]+$")
# Brackets go around digits only, an area code or a trunk prefix: "(020) 7946 0958", "+44 (0)20 7946 0958".
_PHONE_BRACKETS = re.compile(r"\(([0-9]+(?:[ .-][0-9]+)*)\)")
# Once bracketed digits are plain: digit groups, one separator between two, after an optional leading +.
_PHONE_GROUPS = re.compile(r"^(?:\+ ?)?[0-9]+(?:[ ./-][0-9]+)*$")
_POSTCODE = re.compile(r"^[A-Za-z0-9 -]+$")
# ITU-T E.164: a full international number has at most 15 digits; no working number has fewer than 7.
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15


def clean_phone(phone: str) -> str:
    """A phone number as people write them (spaces, brackets, hyphens, a leading +), checked for its digits."""
    phone = one_line(phone)
    if not phone:
        return ""
    if not _PHONE_CHARACTERS.match(phone):
        raise ValidationError(
            "A phone number can have only digits, spaces, brackets and hyphens, and a + at the start.",
            code="phone_characters",
        )
    if not _PHONE_GROUPS.match(_PHONE_BRACKETS.sub(r"\1", phone)):
        raise ValidationError(
            "Write a phone number as groups of digits with one space, hyphen or dot between two, and brackets "
            "only around digits: for example +44 20 7946 0958 or (020) 7946-0958.",
            code="phone_punctuation",
        )
    digits = re.sub(r"\D", "", phone)
    if phone.startswith("+") and digits.startswith("0"):
        raise ValidationError(
            "After the + comes the country code, which never starts with 0: for example +44 20 7946 0958.",
            code="phone_country_code",
        )
    if len(digits) < PHONE_MIN_DIGITS:
        raise ValidationError(
            "That phone number is too short. Enter the whole number, with its area code.", code="phone_short"
        )
    if len(digits) > PHONE_MAX_DIGITS:
        raise ValidationError(
            f"That phone number is too long: a phone number has at most {PHONE_MAX_DIGITS} digits.",
            code="phone_long",
        )
    return phone


def _email_field_name(email: OptionalEmail) -> str:
    return f"email_{email.key}"


class ProfileForm(forms.Form):
    name = forms.CharField(
        label="Full name",
        max_length=200,
        required=False,
        error_messages={"max_length": "Your name can have at most 200 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        required=False,
        help_text="Include the country code for a number abroad, for example +44 20 7946 0958.",
        error_messages={"max_length": "A phone number has at most 40 characters, spaces included."},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    address_line_1 = forms.CharField(
        label="Address line 1",
        max_length=200,
        required=False,
        error_messages={"max_length": "Address line 1 can have at most 200 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line_2 = forms.CharField(
        label="Address line 2",
        max_length=200,
        required=False,
        error_messages={"max_length": "Address line 2 can have at most 200 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="Town or city",
        max_length=100,
        required=False,
        error_messages={"max_length": "A town or city can have at most 100 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = forms.CharField(
        label="Postcode or ZIP code",
        max_length=16,
        required=False,
        help_text="Leave it empty where addresses have none.",
        error_messages={"max_length": "A postcode can have at most 16 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.CharField(
        label="Country",
        max_length=100,
        required=False,
        error_messages={"max_length": "A country can have at most 100 characters."},
        widget=forms.TextInput(attrs={"autocomplete": "country-name"}),
    )
    language = forms.ChoiceField(
        label="Preferred language",
        required=False,
        error_messages={"invalid_choice": "Choose a language from the list."},
    )

    ADDRESS_FIELDS = ("address_line_1", "address_line_2", "city", "postcode", "country")
    # Without these an address can't be delivered to: asked for as soon as any part of an address is given.
    ADDRESS_NEEDS = {
        "address_line_1": "Enter the first line of your address, or clear the address to have none.",
        "city": "Enter your town or city, or clear the address to have none.",
        "country": "Enter your country, or clear the address to have none.",
    }

    def __init__(self, *args, customer: Customer, profile: Profile, **kwargs):
        kwargs.setdefault("initial", self._initial(customer, profile))
        super().__init__(*args, **kwargs)
        self.stored_name = customer.name
        self.fields["language"].choices = [("", "No preference"), *language_choices()]
        self.optional_emails = optional_emails()
        for email in self.optional_emails:
            self.fields[_email_field_name(email)] = forms.BooleanField(
                label=email.label, help_text=email.hint, required=False
            )

    @staticmethod
    def _initial(customer: Customer, profile: Profile) -> dict:
        initial = {"name": customer.name, "language": profile.language, "phone": profile.phone}
        initial.update({name: getattr(profile, name) for name in ProfileForm.ADDRESS_FIELDS})
        initial.update({_email_field_name(email): customer.wants_email(email) for email in optional_emails()})
        return initial

    def email_fields(self) -> list[forms.BoundField]:
        return [self[_email_field_name(email)] for email in self.optional_emails]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name and name == self.stored_name.strip():
            # Left as stored: a name from before the rule on names must not hold up saving an address or email choices.
            return self.stored_name
        return name_of_text(name, "Your name")

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])

    def clean_postcode(self) -> str:
        # Checked as typed, then capitalised: "ß" or "ﬀ" would otherwise turn into letters nobody typed, and longer.
        postcode = one_line(self.cleaned_data["postcode"])
        if postcode and not _POSTCODE.match(postcode):
            raise ValidationError("A postcode can have only letters, digits, spaces and hyphens.", code="postcode")
        return postcode.upper()

    def clean(self):
        cleaned = super().clean()
        for name in self.ADDRESS_FIELDS:
            if name in cleaned and name != "postcode":
                try:
                    cleaned[name] = one_line_of_text(cleaned[name], str(self.fields[name].label))
                except ValidationError as error:
                    self.add_error(name, error)
        if any(cleaned.get(name) for name in self.ADDRESS_FIELDS):
            for name, message in self.ADDRESS_NEEDS.items():
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, ValidationError(message, code="address_incomplete"))
        return cleaned

    @property
    def details(self) -> ProfileDetails:
        data = self.cleaned_data
        return ProfileDetails(
            phone=data["phone"],
            address_line_1=data["address_line_1"],
            address_line_2=data["address_line_2"],
            city=data["city"],
            postcode=data["postcode"],
            country=data["country"],
            language=data["language"],
        )

    @property
    def email_choices(self) -> dict[str, bool]:
        return {email.key: self.cleaned_data[_email_field_name(email)] for email in self.optional_emails}


EMAIL_MAX_LENGTH: int = EmailChange._meta.get_field("new_email").max_length or 254
EMAIL_ERRORS = {
    "required": "Enter your new email address.",
    "invalid": "Enter an email address like name@example.com.",
    "max_length": "An email address has at most 254 characters.",
}


class EmailChangeForm(forms.Form):
    """The new address, and the current password where the customer has one: a session left open on a shared
    computer must not be enough to take the account to another mailbox (without a password, the view asks for a
    fresh sign-in instead)."""

    new_email = forms.EmailField(
        label="New email address",
        max_length=254,
        error_messages=EMAIL_ERRORS,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Your current password",
        strip=False,
        max_length=1024,
        error_messages={"required": "Enter your current password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request, customer: Customer, has_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.customer = customer
        if not has_password:
            del self.fields["password"]

    def clean_new_email(self) -> str:
        email = normalise_email(self.cleaned_data["new_email"])
        # Measured once normalised, as stored: lower case may be longer ("İ" is two characters lower-cased).
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError(EMAIL_ERRORS["max_length"], code="max_length")
        if email == self.customer.email:
            raise ValidationError("That is already your email address.", code="unchanged")
        return email

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        organisation = self.customer.organisation
        if "password" in self.fields:
            # Wrong passwords here count with those of the sign-in page: one budget of guesses per account, or per
            # browser where the customer signed in before (portal_auth.known_browsers).
            key = rate_limit_key(self.request, organisation, self.customer.email)
            attempt = ratelimit.reserve("sign_in_failed", self.request, key=key)
            found = customer_authenticate(
                organisation=organisation, email=self.customer.email, password=cleaned["password"]
            )
            if found is None or found.pk != self.customer.pk:
                self.add_error("password", ValidationError("That password is wrong.", code="wrong_password"))
                return cleaned
            attempt.release()
        # Each request emails an address the customer typed: counted whatever the address, never told apart. The
        # same one sent again at once sends nothing (profiles.services.email_change_request) and costs nothing.
        pending = pending_email_change(self.customer)
        if pending is None or not pending.repeated_by(cleaned["new_email"]):
            ratelimit.consume("email_change", self.request, key=f"customer:{self.customer.pk}")
        return cleaned


class EmailConfirmForm(SentOnceForm):
    """The button that moves the account: its token tells a second press from a copy of this browser's cookie."""
