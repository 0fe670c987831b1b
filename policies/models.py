from django.db import models
from django.utils.safestring import SafeString, mark_safe

from policies.markdown import render_markdown
from portal_auth.models import Organisation

MARKDOWN_HELP = (
    "Markdown: ## a heading, **bold**, *italic*, - a list, [a link](https://example.com). "
    "HTML is shown as typed, never run; links may be http, https, mailto or to a page of the site."
)


class Policy(models.Model):
    """A page of an organisation's terms, policies or anything else it wants its customers to be able to read."""

    class Kind(models.TextChoices):
        TERMS = "terms", "Terms and conditions"
        PRIVACY = "privacy", "Privacy policy"
        REFUNDS = "refunds", "Refund policy"
        OTHER = "other", "Another page"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.OTHER,
        help_text="An organisation has at most one of each usual kind; as many other pages as it likes.",
    )
    title = models.CharField(max_length=120)
    # The admin shows help texts as HTML: an address written with angle brackets would lose its placeholders.
    slug = models.SlugField(
        max_length=60, help_text="The end of the page's address: “refunds” puts it at …/policies/refunds/."
    )
    body = models.TextField(help_text=MARKDOWN_HELP)
    # The body as customers see it: rendered and sanitised on every save, so no page renders Markdown and no hand
    # writes HTML here.
    body_html = models.TextField(editable=False, default="")
    order = models.PositiveSmallIntegerField(default=0, help_text="Lower first, in the footer and on the list.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["organisation", "order", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "slug"],
                name="policy_unique_slug_per_organisation",
                violation_error_message="This organisation has a page at this address already.",
            ),
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=~models.Q(kind="other"),
                name="policy_one_of_each_usual_kind",
                violation_error_message="This organisation has a page of this kind already; choose “Another page”.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Derived, not business logic: however the body is saved, what customers see follows it.
        self.body_html = render_markdown(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    @property
    def html(self) -> SafeString:
        return mark_safe(self.body_html)  # noqa: S308 (sanitised by render_markdown when saved)


class CompanyInformation(models.Model):
    """Who the business is in law and how to reach it, shown with its policies."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="company_information"
    )
    legal_name = models.CharField(max_length=200, help_text="As registered, e.g. “Voyages Lumière SAS”.")
    registered_address = models.TextField(blank=True)
    company_number = models.CharField(max_length=40, blank=True, help_text="Its number in the company register.")
    vat_number = models.CharField("VAT number", max_length=40, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = "company information"
        verbose_name_plural = "company information"

    def __str__(self) -> str:
        return self.legal_name
