from django import forms

from portal_core.sent_once import SentOnceForm


class SessionEndForm(forms.Form):
    """The "End" button of one session in "Your sessions": which session, by its row's id."""

    session = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class SignOutEverywhereForm(SentOnceForm):
    """The "Sign out everywhere" button: its token tells a second press from a copy of this browser's cookie."""
