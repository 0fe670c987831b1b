"""What a customer typed into a form after their session ended, kept to fill the form in again once signed in.

A draft lives in this browser's session (carried across the sign-in's fresh session, see portal_sign_in),
keyed by the address the form posts to. It holds the text fields only: uploaded files can't be kept.

Whom a draft is restored to:
- when the ended session still names a customer of this organisation, to that customer only, so someone
  else signing in on the same browser never sees it;
- when the session is gone altogether (its cookie expired), nothing says who typed it. It is then tied to
  the form's address and restored to whoever signs in on this browser and may open that page: the page's
  own access check still applies, and losing what was typed is the worse outcome on a browser that was
  signed in to this portal moments ago.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from portal_auth.models import Customer, Organisation
from portal_core import ratelimit

DRAFTS_SESSION_KEY = "portal_drafts"
DRAFT_LIFETIME = timedelta(days=1)
# The longest form's text (a ticket: 200 + 20,000) with room to spare. Anyone may post a form without a
# session, so what one post can make the portal store stays small; a bigger form would not validate anyway.
MAX_DRAFT_CHARS = 25_000
MAX_DRAFTS = 5
# Never kept: the form's CSRF token, where to go next, and anything secret.
NOT_KEPT = {"csrfmiddlewaretoken", "next"}


@dataclass(frozen=True)
class Draft:
    fields: dict[str, str | list[str]]
    files_dropped: bool


def _text_fields(request: HttpRequest) -> dict[str, list[str]]:
    return {
        name: values
        for name, values in request.POST.lists()
        if name not in NOT_KEPT and "password" not in name.lower() and "token" not in name.lower()
    }


def draft_worth_keeping(request: HttpRequest) -> bool:
    """Whether this POST holds anything the customer typed or chose: losing it is worth a word to them."""
    fields = _text_fields(request)
    return any(value.strip() for values in fields.values() for value in values) or bool(request.FILES)


def draft_keep(request: HttpRequest, *, organisation: Organisation) -> bool:
    """Keep the text of this POST for the form at `request.path`; False when it wasn't kept: nothing worth keeping
    (draft_worth_keeping), too long, or too many kept from this address."""
    if not draft_worth_keeping(request):
        return False
    fields = _text_fields(request)
    if sum(len(value) for values in fields.values() for value in values) > MAX_DRAFT_CHARS:
        return False
    try:
        # Anyone may post a form without a session: what one address can make the portal store is bounded too.
        ratelimit.consume("draft_keep", request)
    except ratelimit.RateLimited:
        return False
    from portal_auth.sessions import SESSION_CUSTOMER  # sessions carries drafts across sign-in: imports this module

    named_id = request.session.get(SESSION_CUSTOMER)
    customer_id = (
        Customer.objects.filter(pk=named_id, organisation=organisation).values_list("pk", flat=True).first()
        if named_id is not None
        else None
    )
    draft = {
        "action": request.path,
        "organisation": organisation.pk,
        "customer": customer_id,
        "fields": fields,
        "files_dropped": bool(request.FILES),
        "expires": int((timezone.now() + DRAFT_LIFETIME).timestamp()),
    }
    kept = [d for d in _live_drafts(request) if d["action"] != request.path]
    request.session[DRAFTS_SESSION_KEY] = [*kept, draft][-MAX_DRAFTS:]
    return True


def _live_drafts(request: HttpRequest) -> list[dict[str, Any]]:
    now = timezone.now().timestamp()
    return [d for d in request.session.get(DRAFTS_SESSION_KEY, []) if d.get("expires", 0) > now]


def draft_take(request: HttpRequest, *, customer: Customer, action: str) -> Draft | None:
    """The draft kept for the form posting to `action` that `customer` may have, removed from the session."""
    drafts = request.session.get(DRAFTS_SESSION_KEY)
    if not drafts:
        return None
    live = _live_drafts(request)
    found = next(
        (
            d
            for d in live
            if d["action"] == action
            and d["organisation"] == customer.organisation_id
            and d["customer"] in (None, customer.pk)
        ),
        None,
    )
    remaining = [d for d in live if d is not found]
    # Written only when something left: every page with a form asks, and most find nothing to take.
    if len(remaining) != len(drafts):
        if remaining:
            request.session[DRAFTS_SESSION_KEY] = remaining
        else:
            request.session.pop(DRAFTS_SESSION_KEY, None)
    if found is None:
        return None
    fields = {name: values[0] if len(values) == 1 else values for name, values in found["fields"].items()}
    return Draft(fields=fields, files_dropped=found["files_dropped"])


def draft_restore(request: HttpRequest, form: forms.Form, *, action: str | None = None) -> forms.Form:
    """`form`, unbound, filled in with the signed-in customer's draft for `action` (this page by default)."""
    customer = getattr(request, "portal_customer", None)
    draft = draft_take(request, customer=customer, action=action or request.path) if customer else None
    form.restored_draft = draft  # type: ignore[attr-defined]
    if draft is not None:
        form.initial.update({name: value for name, value in draft.fields.items() if name in form.fields})
        # A box left unticked is not sent with a form, so the draft has nothing of it: unticked is what was typed.
        unticked = {
            name: False
            for name, field in form.fields.items()
            if isinstance(field, forms.BooleanField) and name not in draft.fields
        }
        form.initial.update(unticked)
    return form


def same_origin_post(request: HttpRequest) -> bool:
    """Whether the browser says this POST came from one of the portal's own pages.

    Used where the CSRF check failed: only then may its text be kept, so no other site can plant a draft.
    """
    origin = request.headers.get("Origin")
    if origin:
        return origin == f"{request.scheme}://{request.get_host()}" or origin in settings.CSRF_TRUSTED_ORIGINS
    return request.headers.get("Sec-Fetch-Site") == "same-origin"
