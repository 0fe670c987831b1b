"""The organisation's footer follows its policies: every portal page links to each of them, at no query's cost."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.urls import reverse

from policies.models import CompanyInformation, Policy
from policies.selectors import FOOTER_GROUP, policies_of
from portal_auth.models import FooterLink, Organisation
from portal_auth.services import organisation_footer_links_set


def _path(url_name: str, organisation: Organisation, **kwargs: str) -> str:
    """The page's path from the portal's home, as the footer keeps it."""
    home = reverse("portal_home", kwargs={"org": organisation.slug})
    return reverse(url_name, kwargs={"org": organisation.slug, **kwargs}).removeprefix(home)


def policy_footer_links_refresh(*, organisation_id: int) -> None:
    """Write the organisation's footer links to its policies (and its company information) afresh."""
    with transaction.atomic():
        # Locked before the policies are read: two pages saved at once are then read one after the other, so the
        # later footer written holds both.
        organisation = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
        if organisation is None:  # being deleted, policies and all
            return
        links = [
            FooterLink(title=policy.title, path=_path("policies:detail", organisation, slug=policy.slug))
            for policy in policies_of(organisation).only("title", "slug")
        ]
        if CompanyInformation.objects.filter(organisation=organisation).exists():
            company = _path("policies:list", organisation) + "#company"
            links.append(FooterLink(title="Company information", path=company))
        organisation_footer_links_set(organisation_id=organisation_id, group=FOOTER_GROUP, links=links)


def _changed(sender, instance: Policy | CompanyInformation, raw: bool = False, **kwargs) -> None:
    if not raw:
        policy_footer_links_refresh(organisation_id=instance.organisation_id)


def watch() -> None:
    """Keep the footer in step with every write, from the admin, a command or the demo data alike.

    A derived copy, like the page cache's versions, so a signal rather than a service: no write path can forget it.
    """
    for model in (Policy, CompanyInformation):
        post_save.connect(_changed, sender=model, dispatch_uid=f"policies.footer:{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"policies.footer:{model._meta.label}")
