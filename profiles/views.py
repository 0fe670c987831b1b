"""The profile pages: the customer's details and choices, and changing the address their account is known by."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal_auth.decorators import customer_required, organisation_page, post_only
from portal_auth.doors.landing import landed_token_confirmed, landed_token_drop, landed_token_hash, landed_token_proof
from portal_auth.drafts import draft_restore
from portal_auth.models import Customer, Organisation, Portal, session_hash
from portal_auth.page_cache import cached_page
from portal_auth.sessions import FRESH_SIGN_IN, proved_recently, session_carried_over, session_carried_over_before
from portal_core import page_cache
from portal_core.origin import ClientOrigin
from profiles.forms import EmailChangeForm, EmailConfirmForm, ProfileForm
from profiles.selectors import customer_with_profile, pending_email_change, profile_of
from profiles.services import (
    EmailChangeInvalid,
    EmailTaken,
    email_change_cancel,
    email_change_confirm,
    email_change_find,
    email_change_lifetime_minutes,
    email_change_request,
    profile_update,
)

EMAIL_CHANGE_TOKEN_SESSION_KEY = "profile_email_change"


@never_cache
@cached_page
@customer_required
def profile_detail(request, organisation, customer):
    customer = customer_with_profile(customer)
    data = request.POST if request.method == "POST" else None
    form = ProfileForm(data, customer=customer, profile=profile_of(customer))
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        profile_update(customer=customer, name=name, details=form.details, email_choices=form.email_choices)
        messages.success(request, "Your profile is saved.")
        return redirect("profile:detail", org=request.portal.slug)
    if not form.is_bound:
        draft_restore(request, form)
    change = pending_email_change(customer)
    context = {"form": form, "profile_customer": customer, "email_change": change}
    response = render(request, "profiles/profile_detail.html", context)
    # A pending change's link expires with no write to make the page stale: such a page is never kept.
    return page_cache.not_for_keeping(response) if change else response


@never_cache
@customer_required
def email_change(request, organisation, customer):
    customer = customer_with_profile(customer)
    if not customer.has_password and not proved_recently(request):
        # No password to ask for: a sign-in by a proof of the current address issued minutes ago stands for it.
        status = 403 if request.method == "POST" else 200
        context = {"fresh_minutes": int(FRESH_SIGN_IN.total_seconds() // 60)}
        return render(request, "profiles/email_change_sign_in_again.html", context, status=status)
    data = request.POST if request.method == "POST" else None
    form = EmailChangeForm(data, request=request, customer=customer, has_password=customer.has_password)
    if request.method == "POST" and form.is_valid():
        email_change_request(
            origin=ClientOrigin.from_request(request), customer=customer, new_email=form.cleaned_data["new_email"]
        )
        return redirect("profile:email_sent", org=request.portal.slug)
    if not form.is_bound:
        draft_restore(request, form)
    context = {"form": form, "lifetime_minutes": email_change_lifetime_minutes()}
    return render(request, "profiles/email_change.html", context)


@never_cache
@customer_required
def email_change_sent(request, organisation, customer):
    # The same page whatever the address: whether it is another customer's is said only in its own mailbox.
    change = pending_email_change(customer_with_profile(customer))
    if change is None:
        return redirect("profile:detail", org=request.portal.slug)
    context = {"email_change": change, "lifetime_minutes": email_change_lifetime_minutes()}
    return render(request, "profiles/email_change_sent.html", context)


@never_cache
@post_only("profile:detail")
@customer_required
def email_cancel(request, organisation, customer):
    if email_change_cancel(customer=customer):
        messages.success(request, f"The change is cancelled: your email address stays {customer.email}.")
    return redirect("profile:detail", org=request.portal.slug)


@csrf_exempt
@never_cache
def email_link(request, org, token):
    # As every emailed link's landing: the token's hash into the session, the browser to a URL without it,
    # whose button does the work. A mail scanner following the link changes nothing; exempt from CSRF, as a
    # refusal would log the token's URL.
    if not Portal.objects.filter(slug=org).exists():
        response = redirect("landing")
    else:
        request.session[EMAIL_CHANGE_TOKEN_SESSION_KEY] = session_hash(token)
        response = redirect("profile:email_confirm", org=org)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@organisation_page
def email_confirm(request, organisation):
    token_hash = landed_token_hash(request, EMAIL_CHANGE_TOKEN_SESSION_KEY)
    change = email_change_find(organisation_id=organisation.pk, token_hash=token_hash)
    if change is None:
        landed_token_drop(request, EMAIL_CHANGE_TOKEN_SESSION_KEY)
        return _link_invalid(request)
    signed_in = request.portal_customer
    if signed_in is None or signed_in.pk != change.customer_id:
        # A link alone must not move an account: an address typed by mistake would hand it to a stranger.
        context = {"email_change": change, "lifetime_minutes": email_change_lifetime_minutes()}
        return render(request, "profiles/email_change_sign_in.html", context, status=403)
    if request.method == "POST":
        if not landed_token_confirmed(request, token_hash):
            # Another link landed since this page named its address: show the one the session holds now.
            return redirect(request.path)
        return _confirm(request, organisation, signed_in, token_hash)
    context = {"email_change": change, "link_proof": landed_token_proof(token_hash), "form": EmailConfirmForm()}
    return render(request, "profiles/email_change_confirm.html", context)


def _confirm(request: HttpRequest, organisation: Organisation, customer: Customer, token_hash: str) -> HttpResponse:
    sent_once_token = _sent_once_token(request)
    try:
        origin = ClientOrigin.from_request(request)
        # This browser's session moves on in the same commit: the button pressed again, waiting on this
        # press, finds where it went (sessions.session_carried_over_before).
        with transaction.atomic():
            changed = email_change_confirm(origin=origin, token_hash=token_hash, customer=customer)
            session_carried_over(request, changed, sent_once_token=sent_once_token)
    except EmailChangeInvalid:
        landed_token_drop(request, EMAIL_CHANGE_TOKEN_SESSION_KEY)
        return _link_invalid(request)
    except EmailTaken:
        landed_token_drop(request, EMAIL_CHANGE_TOKEN_SESSION_KEY)
        email_change_cancel(customer=customer)  # it could never succeed: the profile stops showing it
        messages.error(
            request,
            f"That address now belongs to another account at {organisation.public_name}, so nothing changed: "
            f"your email address stays {customer.email}.",
        )
        return redirect("profile:detail", org=request.portal.slug)
    landed_token_drop(request, EMAIL_CHANGE_TOKEN_SESSION_KEY)
    request.signed_in_now = changed  # this browser is known for the new address (portal_auth.known_browsers)
    messages.success(request, f"Your email address is now {changed.email}. Use it to sign in from now on.")
    return redirect("profile:detail", org=request.portal.slug)


def _link_invalid(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if moved := session_carried_over_before(request, sent_once_token=_sent_once_token(request)):
            # The button pressed again before the first press answered: that press moved the account.
            messages.success(request, f"Your email address is now {moved.email}. Use it to sign in from now on.")
            return redirect("profile:detail", org=request.portal.slug)
    context = {"lifetime_minutes": email_change_lifetime_minutes()}
    return render(request, "profiles/email_link_invalid.html", context, status=404)


def _sent_once_token(request: HttpRequest) -> str:
    form = EmailConfirmForm(request.POST)
    return form.once_token if form.is_valid() else ""
