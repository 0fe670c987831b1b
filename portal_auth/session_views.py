"""The sign-in page, where every open door shows itself, and signing out."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from portal_auth.decorators import organisation_page, post_only, sign_in_url
from portal_auth.doors.landing import safe_next
from portal_auth.doors.password.forms import SignInForm
from portal_auth.doors.registry import PASSWORD, door_is_open, open_doors
from portal_auth.sessions import portal_sign_in, portal_sign_out


@never_cache
@organisation_page
def sign_in(request, organisation):
    """The open doors, in the registry's order; a POST is the password door's form, the page's only one."""
    next_url = safe_next(request)
    if request.method == "POST":
        if not door_is_open(organisation, PASSWORD):
            raise Http404("Passwords are not a way in here.")
        form = SignInForm(request.POST, request=request, organisation=organisation)
        if form.is_valid() and form.customer is not None:
            portal_sign_in(request, form.customer, method=PASSWORD)
            return redirect(next_url)
    else:
        if request.portal_customer is not None and "next" in request.GET:
            return redirect(next_url)
        form = SignInForm(request=request, organisation=organisation, initial={"email": request.GET.get("email", "")})
    shown = [door for door in open_doors(organisation) if door.sign_in_template]
    context = {"form": form, "next": next_url, "doors": shown}
    return render(request, "portal_auth/sign_in.html", context)


@post_only("portal_home")
@organisation_page
def sign_out(request, organisation):
    """Sign out; with a `next` inside the portal, sign in again to go there (“sign in as someone else”)."""
    next_url = safe_next(request)
    portal_sign_out(request)
    messages.success(request, "You have signed out.")
    if "next" in request.POST and next_url != reverse("portal_home", kwargs={"org": request.portal.slug}):
        return redirect(sign_in_url(request.portal, next_url))
    return redirect("portal_auth:sign_in", org=request.portal.slug)
