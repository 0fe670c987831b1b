from django import forms
from django.utils.text import slugify

from policies.markdown import nested_too_deeply
from policies.models import Policy

# Where a page of each usual kind lives unless staff choose otherwise.
USUAL_SLUGS = {Policy.Kind.TERMS: "terms", Policy.Kind.PRIVACY: "privacy", Policy.Kind.REFUNDS: "refunds"}


class PolicyAdminForm(forms.ModelForm):
    """A policy page; its title and address follow from its kind ("Privacy policy", privacy/) when left empty."""

    class Meta:
        model = Policy
        fields = ["organisation", "kind", "title", "slug", "order", "body"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Moved to another organisation, a page would linger in the first one's footer. Disabled rather than
            # left out, so the page's address is still checked unique within its organisation.
            self.fields["organisation"].disabled = True
        self.fields["title"].required = False
        self.fields["title"].help_text = "Left empty, the kind's name (“Privacy policy”)."
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Left empty, from the kind (terms, privacy, refunds) or the title."

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if nested_too_deeply(body):
            raise forms.ValidationError(
                "Lists or quotes here sit too deep in one another for the page to show them whole: nest them less.",
                code="nested_too_deeply",
            )
        return body

    def clean(self):
        super().clean()  # which turns on the checks of the page's address and kind
        cleaned = self.cleaned_data
        kind = cleaned.get("kind") or Policy.Kind.OTHER
        if not cleaned.get("title"):
            if kind == Policy.Kind.OTHER:
                self.add_error("title", "Give the page a title.")
            else:
                cleaned["title"] = Policy.Kind(kind).label
        if not cleaned.get("slug") and cleaned.get("title"):
            cleaned["slug"] = USUAL_SLUGS.get(kind) or slugify(cleaned["title"])[:60].strip("-")
            if not cleaned["slug"]:
                self.add_error("slug", "Give the page an address of letters, digits and hyphens.")
        return cleaned
