from django import forms


class SessionEndForm(forms.Form):
    """The "End" button of one session in "Your sessions": which session, by its row's id."""

    session = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
