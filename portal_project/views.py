from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache

from portal_auth.decorators import customer_required
from portal_auth.drafts import draft_keep, same_origin_post
from portal_auth.models import Organisation
from portal_core.sections import sections


def healthz(request):
    """For load balancers: the process answers. Touches neither the database nor the session."""
    return HttpResponse("ok", content_type="text/plain")


def landing(request):
    return render(request, "landing.html")


@never_cache
@customer_required
def portal_home(request, organisation, customer):
    """The customer's front page: a panel per section, each filled by its app's own selector."""
    panels = [(section, section.home_items(customer)) for section in sections() if section.home_items]
    return render(request, "portal_home.html", {"customer": customer, "home_panels": panels})


def csrf_failure(request, reason=""):
    """A form refused for its CSRF token, most often one from before a sign-in in another tab.

    Sent from one of the portal's own pages to a customer's form, its text is kept as a draft and the
    browser goes back to the form, which shows it again (after signing in, if the session has ended).
    """
    if request.method == "POST" and same_origin_post(request):
        try:
            match = resolve(request.path)
        except Resolver404:
            match = None
        organisation = (
            Organisation.objects.filter(slug=match.kwargs.get("org")).first()
            if match is not None and getattr(match.func, "keeps_drafts", False)
            else None
        )
        if organisation is not None and draft_keep(request, organisation=organisation):
            return redirect(request.path)
    return render(request, "403_csrf.html", status=403)
