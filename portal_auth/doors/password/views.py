"""The password door's pages: ask for a link to choose a password, and choose it. Its form is on the sign-in page."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal_auth.decorators import organisation_page
from portal_auth.doors.landing import (
    emailed_link_landing,
    landed_token_confirmed,
    landed_token_drop,
    landed_token_hash,
    landed_token_proof,
    safe_next,
)
from portal_auth.doors.password.forms import PasswordLinkForm, SetPasswordForm
from portal_auth.doors.registry import PASSWORD, door_required
from portal_auth.models import CustomerToken
from portal_auth.services import customer_password_set, password_link_lifetime_minutes
from portal_auth.tasks import origin_values, password_link_send_task
from portal_core.origin import ClientOrigin
from portal_core.tasks import task_enqueue

PASSWORD_TOKEN_SESSION_KEY = "portal_password_token"
AFTER_PASSWORD_SESSION_KEY = "portal_after_password"
PASSWORD_LINK_SENT_TO_SESSION_KEY = "portal_password_link_sent_to"


@never_cache
@organisation_page
@door_required(PASSWORD)
def password_request(request, organisation):
    if request.method == "POST":
        form = PasswordLinkForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            email, origin = form.cleaned_data["email"], origin_values(ClientOrigin.from_request(request))
            # Looked up by a worker, after the response: how long it takes would tell whether the email is known.
            task_enqueue(
                password_link_send_task,
                organisation_id=organisation.pk,
                portal_id=request.portal.pk,
                email=email,
                origin=origin,
            )
            request.session[PASSWORD_LINK_SENT_TO_SESSION_KEY] = form.cleaned_data["email"]
            # Where the customer was going, to return there after choosing a password (same browser).
            request.session[AFTER_PASSWORD_SESSION_KEY] = safe_next(request)
            return redirect("portal_auth:password_link_sent", org=request.portal.slug)
    else:
        form = PasswordLinkForm(
            request=request, organisation=organisation, initial={"email": request.GET.get("email", "")}
        )
    context = {
        "form": form,
        "next": safe_next(request),
        "lifetime_minutes": password_link_lifetime_minutes(),
    }
    return render(request, "portal_auth/password_request.html", context)


@never_cache
@organisation_page
@door_required(PASSWORD)
def password_link_sent(request, organisation):
    email = request.session.get(PASSWORD_LINK_SENT_TO_SESSION_KEY, "")
    context = {"email": email, "lifetime_minutes": password_link_lifetime_minutes()}
    return render(request, "portal_auth/password_link_sent.html", context)


def _password_link_invalid(request):
    context = {"lifetime_minutes": password_link_lifetime_minutes()}
    return render(request, "portal_auth/password_link_invalid.html", context, status=404)


# The emailed link: a mail scanner that follows it uses nothing up.
password_link = emailed_link_landing(
    door_key=PASSWORD, session_key=PASSWORD_TOKEN_SESSION_KEY, clean_route=lambda: "portal_auth:password_set"
)


@never_cache
@organisation_page
@door_required(PASSWORD)
def password_set(request, organisation):
    token_hash = landed_token_hash(request, PASSWORD_TOKEN_SESSION_KEY)
    token = CustomerToken.find_usable(
        organisation=organisation, purpose=CustomerToken.Purpose.SET_PASSWORD, token_hash=token_hash
    )
    if token is None:
        landed_token_drop(request, PASSWORD_TOKEN_SESSION_KEY)
        return _password_link_invalid(request)
    if request.method == "POST" and not landed_token_confirmed(request, token_hash):
        # Another link landed since this page named its account: name the one the session holds now.
        return redirect(request.path)
    form = SetPasswordForm(request.POST or None, customer=token.customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_password_set(
                origin=ClientOrigin.from_request(request), token=token, password=form.password
            )
        except CustomerToken.DoesNotExist:
            return _password_link_invalid(request)
        landed_token_drop(request, PASSWORD_TOKEN_SESSION_KEY)
        next_url = request.session.pop(AFTER_PASSWORD_SESSION_KEY, "")
        messages.success(request, "Your password is set. Sign in with it now.")
        query = urlencode({"email": customer.email, **({"next": next_url} if next_url else {})})
        return redirect(f"{reverse('portal_auth:sign_in', kwargs={'org': request.portal.slug})}?{query}")
    context = {"form": form, "customer": token.customer, "link_proof": landed_token_proof(token_hash)}
    return render(request, "portal_auth/password_set.html", context)
