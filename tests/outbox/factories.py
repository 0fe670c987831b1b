import factory

from outbox.models import OutboxEmail
from tests.factories import OrganisationFactory


class OutboxEmailFactory(factory.django.DjangoModelFactory):
    """An email already written to the outbox, waiting to be sent."""

    class Meta:
        model = OutboxEmail

    organisation = factory.SubFactory(OrganisationFactory)
    template = "portal_auth/emails/password_changed"
    from_email = "portal@localhost"
    to = factory.Sequence(lambda n: f"reader{n}@example.com")
    subject = factory.Sequence(lambda n: f"Your password was changed ({n})")
    body_text = "Your password has just been set."
    body_html = "<p>Your password has just been set.</p>"

    @classmethod
    def waiting(cls, count: int, **kwargs) -> list[OutboxEmail]:
        """`count` waiting emails written in one query."""
        return OutboxEmail.objects.bulk_create(cls.build_batch(count, **kwargs))
