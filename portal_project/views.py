from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.middleware.csp import get_nonce
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import Resolver404, resolve
from django.views.decorators.cache import never_cache

from bookings.selectors import upcoming_bookings_for
from conversations.selectors import recent_conversations_for
from portal_auth.decorators import customer_required
from portal_auth.drafts import draft_keep, same_origin_post
from portal_auth.models import Organisation
from tickets.selectors import recent_tickets_for


def healthz(request):
    """For load balancers: the process answers. Touches neither the database nor the session."""
    return HttpResponse("ok", content_type="text/plain")


def landing(request):
    return render(request, "landing.html")


@never_cache
@customer_required
def portal_home(request, organisation, customer):
    """The customer's front page, composed from each app's own selectors."""
    context = {"customer": customer, "upcoming_bookings": upcoming_bookings_for(customer)[:3]}
    context["recent_tickets"] = recent_tickets_for(customer)
    context["recent_conversations"] = recent_conversations_for(customer)
    return render(request, "portal_home.html", context)


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


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's own 500 page, plus the request's CSP nonce so the page's one <style> applies.

    Like Django's handler, it renders without context processors: they may be what failed.
    """
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({"csp_nonce": get_nonce(request)}))
