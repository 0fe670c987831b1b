"""A form sent twice (a double click, a retry on a slow connection, the back button) makes one write.

The form carries a token drawn when it is shown; the service that writes keeps it on the row it writes (under a
unique constraint) and, asked again with a token it has seen, answers with that row instead of writing another.
The field's name holds "token", so a draft kept for a form never holds it (portal_auth/drafts.py): a restored
form is a new sending.
"""

import secrets
from collections.abc import Callable

from django import forms
from django.db import IntegrityError, models, transaction

from portal_core import page_cache


class SentOnceForm(forms.Form):
    sent_once_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=32)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # A page kept in the page cache gets a placeholder, which each view of it fills with a token of its own.
            request = getattr(self, "request", None)
            for_cache = request is not None and page_cache.rendering_for_cache(request)
            self.fields["sent_once_token"].initial = (
                page_cache.placeholders()["sent_once"] if for_cache else secrets.token_urlsafe(16)
            )

    @property
    def once_token(self) -> str:
        """The token this sending carried ("" for a form from before tokens, which is written as it always was)."""
        return self.cleaned_data.get("sent_once_token", "") if hasattr(self, "cleaned_data") else ""


class CreatedAlready(Exception):
    """The row this sending creates was created by it before: `created` is that row."""

    def __init__(self, created: models.Model) -> None:
        super().__init__(created)
        self.created = created


def create_once(row: models.Model, *, request_token: str, create: Callable[[], object] | None = None) -> None:
    """Write the new `row` holding `request_token` in its `request_token` field, which a unique constraint holds to
    one row wherever it is not "": with `row.save()`, or `create()` where more goes with it.

    Raises CreatedAlready with the row the same sending created before, and leaves undone what was written.
    The constraint tells, not a look first: two sendings at the same moment would both find nothing.
    """
    row.request_token = request_token  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            (create or row.save)()
    except IntegrityError:
        found = type(row)._default_manager.filter(request_token=request_token).first() if request_token else None
        if found is None:
            raise
        raise CreatedAlready(found) from None
