from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal_auth.decorators import organisation_page, post_only, sign_in_url
from portal_auth.forms import PasswordLinkForm, SetPasswordForm, SignInForm
from portal_auth.models import CustomerToken, Organisation, session_hash
from portal_auth.services import customer_password_set, password_link_lifetime_minutes
from portal_auth.sessions import portal_sign_in, portal_sign_out
from portal_auth.tasks import password_link_send_task, request_origin
from portal_core.tasks import task_enqueue

PASSWORD_TOKEN_SESSION_KEY = "portal_password_token"
AFTER_PASSWORD_SESSION_KEY = "portal_after_password"
PASSWORD_LINK_SENT_TO_SESSION_KEY = "portal_password_link_sent_to"


def safe_next(request, organisation: Organisation) -> str:
    """Where to go after signing in: `next` if it is a path inside this organisation's portal."""
    home = reverse("portal_home", kwargs={"org": organisation.slug})
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith(f"/{organisation.slug}/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home


@never_cache
@organisation_page
def sign_in(request, organisation):
    next_url = safe_next(request, organisation)
    if request.method == "POST":
        form = SignInForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            portal_sign_in(request, form.customer, method="password")
            return redirect(next_url)
    else:
        if request.portal_customer is not None and "next" in request.GET:
            return redirect(next_url)
        form = SignInForm(request=request, organisation=organisation, initial={"email": request.GET.get("email", "")})
    return render(request, "portal_auth/sign_in.html", {"form": form, "next": next_url})


@post_only("portal_home")
@organisation_page
def sign_out(request, organisation):
    """Sign out; with a `next` inside the portal, sign in again to go there (“sign in as someone else”)."""
    next_url = safe_next(request, organisation)
    portal_sign_out(request)
    messages.success(request, "You have signed out.")
    if "next" in request.POST and next_url != reverse("portal_home", kwargs={"org": organisation.slug}):
        return redirect(sign_in_url(organisation, next_url))
    return redirect("portal_auth:sign_in", org=organisation.slug)


@never_cache
@organisation_page
def password_request(request, organisation):
    if request.method == "POST":
        form = PasswordLinkForm(request.POST, request=request, organisation=organisation)
        if form.is_valid():
            email = form.cleaned_data["email"]
            # Looked up by a worker, after the response: how long it takes would tell whether the email is known.
            origin = request_origin(request)
            task_enqueue(password_link_send_task, organisation_id=organisation.pk, email=email, origin=origin)
            request.session[PASSWORD_LINK_SENT_TO_SESSION_KEY] = form.cleaned_data["email"]
            # Where the customer was going, to return there after choosing a password (same browser).
            request.session[AFTER_PASSWORD_SESSION_KEY] = safe_next(request, organisation)
            return redirect("portal_auth:password_link_sent", org=organisation.slug)
    else:
        form = PasswordLinkForm(
            request=request, organisation=organisation, initial={"email": request.GET.get("email", "")}
        )
    context = {
        "form": form,
        "next": safe_next(request, organisation),
        "lifetime_minutes": password_link_lifetime_minutes(),
    }
    return render(request, "portal_auth/password_request.html", context)


@never_cache
@organisation_page
def password_link_sent(request, organisation):
    email = request.session.get(PASSWORD_LINK_SENT_TO_SESSION_KEY, "")
    context = {"email": email, "lifetime_minutes": password_link_lifetime_minutes()}
    return render(request, "portal_auth/password_link_sent.html", context)


def _password_link_invalid(request):
    context = {"lifetime_minutes": password_link_lifetime_minutes()}
    return render(request, "portal_auth/password_link_invalid.html", context, status=404)


# Exempt: it only files the token in the session, as a GET does, and a CSRF refusal would log its URL.
@csrf_exempt
@never_cache
def password_link(request, org, token):
    """The emailed link. A GET only moves the token's hash into the session: a mail scanner can't use it up.

    Every outcome is a redirect to a URL without the token (an unknown organisation included), so no
    error response ever logs the token's URL.
    """
    organisation = Organisation.objects.filter(slug=org).first()
    if organisation is None:
        response = redirect("landing")
    else:
        request.session[PASSWORD_TOKEN_SESSION_KEY] = session_hash(token)
        response = redirect("portal_auth:password_set", org=organisation.slug)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@organisation_page
def password_set(request, organisation):
    token = CustomerToken.find_usable(
        organisation=organisation,
        purpose=CustomerToken.Purpose.SET_PASSWORD,
        token_hash=request.session.get(PASSWORD_TOKEN_SESSION_KEY, ""),
    )
    if token is None:
        # A dead token has no reason to stay in the session.
        request.session.pop(PASSWORD_TOKEN_SESSION_KEY, None)
        return _password_link_invalid(request)
    form = SetPasswordForm(request.POST or None, customer=token.customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_password_set(request=request, token=token, password=form.password)
        except CustomerToken.DoesNotExist:
            return _password_link_invalid(request)
        request.session.pop(PASSWORD_TOKEN_SESSION_KEY, None)
        next_url = request.session.pop(AFTER_PASSWORD_SESSION_KEY, "")
        messages.success(request, "Your password is set. Sign in with it now.")
        query = urlencode({"email": customer.email, **({"next": next_url} if next_url else {})})
        return redirect(f"{reverse('portal_auth:sign_in', kwargs={'org': organisation.slug})}?{query}")
    return render(request, "portal_auth/password_set.html", {"form": form, "customer": token.customer})
