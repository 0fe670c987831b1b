from django.shortcuts import render
from django.views.decorators.cache import never_cache

from policies.selectors import company_information_of, get_policy, policy_titles_of
from portal_auth.decorators import organisation_page
from portal_auth.page_cache import cached_page

# Public pages (a visitor deciding whether to book may read the refund policy); a signed-in customer's copy,
# with their nav, is kept in the page cache like their other pages.


@never_cache
@cached_page
@organisation_page
def policy_list(request, organisation):
    context = {"policies": policy_titles_of(organisation), "company": company_information_of(organisation)}
    return render(request, "policies/policy_list.html", context)


@never_cache
@cached_page
@organisation_page
def policy_detail(request, organisation, slug):
    return render(request, "policies/policy_detail.html", {"policy": get_policy(organisation, slug)})
