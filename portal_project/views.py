from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from bookings.selectors import upcoming_bookings_for
from conversations.selectors import recent_conversations_for
from portal_auth.decorators import customer_required
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
    return render(request, "403_csrf.html", status=403)
