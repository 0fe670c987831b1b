from portal_auth.doors.password.forms import PasswordLinkForm
from portal_auth.known_browsers import rate_limit_key
from portal_auth.models import normalise_email
from portal_core import ratelimit


class AccessLinkRequestForm(PasswordLinkForm):
    """The same single email field as the password link form, counted against its own rate limit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Your email address"
        self.fields["email"].widget.attrs.pop("autofocus", None)

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        # Counted whether or not the email is known, so the limit itself tells nothing.
        key = rate_limit_key(self.request, self.organisation, email)
        ratelimit.consume("access_link_request", self.request, key=key)
        return email
