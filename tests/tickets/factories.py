import factory

from tests.factories import CustomerFactory, OrganisationFactory
from tickets.models import Company, Ticket, TicketMessage, TicketSettings, author_name_for
from tickets.services import ticket_number_take


class TicketSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketSettings
        django_get_or_create = ["organisation"]

    organisation = factory.SubFactory(OrganisationFactory)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Company {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    organisation = factory.SubFactory(OrganisationFactory)
    requester = factory.SubFactory(CustomerFactory, organisation=factory.SelfAttribute("..organisation"))
    # Numbers come from the real counter, so tickets made here and by the services never collide.
    number = factory.LazyAttribute(lambda ticket: ticket_number_take(organisation=ticket.organisation))
    subject = factory.Sequence(lambda n: f"Question number {n}")
    status = Ticket.Status.OPEN


class TicketMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketMessage

    ticket = factory.SubFactory(TicketFactory)
    author_customer = factory.LazyAttribute(lambda message: None if message.internal else message.ticket.requester)
    author_name = factory.LazyAttribute(
        lambda message: author_name_for(customer=message.author_customer, staff=getattr(message, "author_staff", None))
    )
    body = factory.Sequence(lambda n: f"Message body {n}")
    internal = False

    class Params:
        from_staff = factory.Trait(author_customer=None)
