"""The code door's pages: ask for a code by email, then type it in the same browser."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portal_auth.decorators import organisation_page
from portal_auth.doors.email_code.forms import CodeForm, CodeRequestForm, code_request_count
from portal_auth.doors.email_code.services import (
    METHOD,
    CodeRefused,
    browser_hash,
    code_lifetime_minutes,
    sign_in_code_use,
)
from portal_auth.doors.landing import safe_next
from portal_auth.doors.registry import EMAIL_CODE, door_required
from portal_auth.known_browsers import rate_limit_key
from portal_auth.models import Organisation, normalise_email
from portal_auth.sessions import portal_sign_in
from portal_auth.tasks import origin_values, sign_in_code_send_task
from portal_core.origin import ClientOrigin
from portal_core.tasks import task_enqueue

EMAIL_SESSION_KEY = "portal_code_email"
SENT_AT_SESSION_KEY = "portal_code_sent_at"
NEXT_SESSION_KEY = "portal_code_next"
# A random value of this browser's session; a code keeps only its HMAC, so a code works only where it was asked for.
BROWSER_SESSION_KEY = "portal_code_browser"


def _browser(request) -> str:
    if BROWSER_SESSION_KEY not in request.session:
        request.session[BROWSER_SESSION_KEY] = secrets.token_urlsafe(32)
    return browser_hash(request.session[BROWSER_SESSION_KEY])


def _send(request, organisation: Organisation, email: str) -> None:
    # Looked up and sent by a worker, after the response: how long it takes would tell whether the email is known.
    task_enqueue(
        sign_in_code_send_task,
        organisation_id=organisation.pk,
        email=email,
        browser=_browser(request),
        origin=origin_values(ClientOrigin.from_request(request)),
    )
    request.session[EMAIL_SESSION_KEY] = email
    request.session[SENT_AT_SESSION_KEY] = timezone.now().timestamp()


def _resend_wait(request) -> int:
    """Seconds before this browser may ask for another code."""
    sent_at = request.session.get(SENT_AT_SESSION_KEY, 0)
    ready_at = sent_at + settings.SIGN_IN_CODE_RESEND_AFTER.total_seconds()
    return max(0, -int(-(ready_at - timezone.now().timestamp()) // 1))


@never_cache
@organisation_page
@door_required(EMAIL_CODE)
def code_request(request, organisation):
    if request.method == "POST":
        form = CodeRequestForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            _send(request, organisation, form.cleaned_data["email"])
            request.session[NEXT_SESSION_KEY] = safe_next(request)
            return redirect("portal_auth:sign_in_code_enter", org=request.portal.slug)
    else:
        form = CodeRequestForm(
            request=request, organisation=organisation, initial={"email": request.GET.get("email", "")}
        )
    context = {"form": form, "next": safe_next(request), "lifetime_minutes": code_lifetime_minutes()}
    return render(request, "portal_auth/email_code_request.html", context, status=400 if form.is_bound else 200)


@never_cache
@organisation_page
@door_required(EMAIL_CODE)
def code_enter(request, organisation):
    """One box for the code; a second form asks for a new code, at most once every 30 seconds."""
    email = request.session.get(EMAIL_SESSION_KEY)
    if not email:
        return redirect("portal_auth:sign_in_code_request", org=request.portal.slug)
    resend = request.method == "POST" and "resend" in request.POST
    if resend and not _resend_wait(request):
        code_request_count(request, organisation, email)
        _send(request, organisation, email)
        messages.success(request, "A new code is on its way. Only the newest code works.")
        return redirect(request.path)
    form = CodeForm(request.POST if request.method == "POST" and not resend else None)
    response_headers = {}
    status = 400 if resend or form.is_bound else 200
    if form.is_bound and form.is_valid():
        origin = ClientOrigin.from_request(request)
        try:
            customer = sign_in_code_use(
                origin=origin,
                organisation=organisation,
                email=email,
                browser=_browser(request),
                typed=form.cleaned_data["code"],
                counted_as=rate_limit_key(request, organisation, normalise_email(email)),
            )
        except CodeRefused as refusal:
            form.add_error("code", refusal.message)
            if refusal.retry_after:
                status, response_headers = 429, {"Retry-After": str(refusal.retry_after)}
        else:
            next_url = request.session.get(NEXT_SESSION_KEY) or safe_next(request)
            portal_sign_in(request, customer, method=METHOD)
            return redirect(next_url)
    context = {
        "form": form,
        "email": email,
        "lifetime_minutes": code_lifetime_minutes(),
        "resend_wait": _resend_wait(request),
        "resend_refused": resend,
    }
    response = render(request, "portal_auth/email_code_enter.html", context, status=status)
    for name, value in response_headers.items():
        response[name] = value
    return response
