from django.db.models import QuerySet
from django.http import Http404

from policies.models import CompanyInformation, Policy
from portal_auth.models import Organisation

FOOTER_GROUP = "policies"


def policies_of(organisation: Organisation) -> QuerySet[Policy]:
    return Policy.objects.filter(organisation=organisation).order_by("order", "title", "pk")


def policy_titles_of(organisation: Organisation) -> QuerySet[Policy]:
    """The policies as the list shows them: titles and dates, without their bodies, which may be long."""
    return policies_of(organisation).only("title", "slug", "order", "updated_at")


def get_policy(organisation: Organisation, slug: str) -> Policy:
    # Public pages: another organisation's policy is simply not this one's, a plain 404.
    policy = policies_of(organisation).filter(slug=slug).first()
    if policy is None:
        raise Http404("No such policy.")
    return policy


def company_information_of(organisation: Organisation) -> CompanyInformation | None:
    return CompanyInformation.objects.filter(organisation=organisation).first()


def organisation_has_policies(organisation: Organisation) -> bool:
    """Whether the Policies page has anything to show, read from the organisation's row: no query."""
    return bool(organisation.footer_links.get(FOOTER_GROUP))
