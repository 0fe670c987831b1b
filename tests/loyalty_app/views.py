from django.shortcuts import render
from django.views.decorators.cache import never_cache

from portal_auth.decorators import customer_required
from tests.loyalty_app.selectors import memberships_for


@never_cache
@customer_required
def membership_list(request, organisation, customer):
    return render(request, "loyalty/membership_list.html", {"memberships": memberships_for(customer)})
