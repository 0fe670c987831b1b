"""The customer's own access pages: how they got in lately, their sessions, and ending them.

Never kept in the page cache: what they show changes with every sign-in anywhere, and a customer checking
who is in their account must see it as it is now.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portal_auth.account import (
    RECENT_ACCESS_DAYS,
    RECENT_ACCESS_SHOWN,
    customer_sessions,
    recent_access,
    session_end,
    sign_out_everywhere,
)
from portal_auth.account_forms import SessionEndForm, SignOutEverywhereForm
from portal_auth.decorators import customer_required, organisation_page, post_only, sign_in_url
from portal_auth.sessions import SESSION_ROW, portal_sign_out, session_carried_over_before
from portal_core.origin import ClientOrigin


@never_cache
@customer_required
def access_list(request, organisation, customer):
    rows = recent_access(customer)
    context = {"rows": rows[:RECENT_ACCESS_SHOWN], "more": len(rows) > RECENT_ACCESS_SHOWN, "days": RECENT_ACCESS_DAYS}
    with timezone.override(organisation.zone):
        return render(request, "portal_auth/account/recent_access.html", context)


@never_cache
@customer_required
def session_list(request, organisation, customer):
    sessions = customer_sessions(customer, current_id=request.session.get(SESSION_ROW))
    context = {"sessions": sessions, "sign_out_everywhere_form": SignOutEverywhereForm()}
    with timezone.override(organisation.zone):
        return render(request, "portal_auth/account/sessions.html", context)


@never_cache
@post_only("account:sessions")
@customer_required
def session_end_post(request, organisation, customer):
    form = SessionEndForm(request.POST)
    if not form.is_valid():
        # Only a tampered form gets here: the page's buttons each name a session.
        return redirect("account:sessions", org=request.portal.slug)
    session_id = form.cleaned_data["session"]
    if session_id == request.session.get(SESSION_ROW):
        # Ending this browser's own session is signing out (the page offers no button for it).
        portal_sign_out(request)
        messages.success(request, "You have signed out.")
        return redirect("portal_auth:sign_in", org=request.portal.slug)
    if session_end(customer=customer, session_id=session_id, origin=ClientOrigin.from_request(request)):
        messages.success(request, "That session has ended: its browser is signed out.")
    else:
        messages.info(request, "That session had already ended.")
    return redirect("account:sessions", org=request.portal.slug)


@never_cache
@post_only("account:sessions", form_id="sign-out-everywhere")
@organisation_page
def sign_out_everywhere_post(request, organisation):
    # Not customer_required: a second press, sent with the key the first press replaced, is signed out by now.
    form = SignOutEverywhereForm(request.POST)
    sent_once_token = form.once_token if form.is_valid() else ""
    customer = request.portal_customer
    ended = sign_out_everywhere(request, customer, sent_once_token=sent_once_token) if customer else None
    if ended is None and session_carried_over_before(request, sent_once_token=sent_once_token):
        # The button pressed again before the first press answered: that press did it, this browser stays in.
        messages.success(request, "You have signed out everywhere else. You are still signed in here.")
        return redirect("account:sessions", org=request.portal.slug)
    if customer is None:
        return redirect(sign_in_url(request.portal, request.get_full_path()))
    if ended is None:  # this browser's own session ended meanwhile: it is signed out, not kept in
        portal_sign_out(request)
        return redirect("portal_auth:sign_in", org=request.portal.slug)
    sessions, links = ended
    messages.success(
        request,
        f"Signed out everywhere else ({sessions} other session{'s' if sessions != 1 else ''}) and "
        f"{links} emailed link{'s' if links != 1 else ''} withdrawn. You are still signed in here.",
    )
    return redirect("account:sessions", org=request.portal.slug)
