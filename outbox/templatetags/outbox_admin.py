from django import template

from outbox.selectors import outbox_counts

register = template.Library()


@register.simple_tag(takes_context=True)
def outbox_status(context: template.Context) -> dict[str, int] | None:
    """The outbox's counts for the admin index, for staff who may see its emails (None for others)."""
    if not context["request"].user.has_perm("outbox.view_outboxemail"):
        return None
    return outbox_counts()
