import factory

from policies.models import CompanyInformation, Policy
from tests.factories import OrganisationFactory


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"House rules {n}")
    slug = factory.Sequence(lambda n: f"house-rules-{n}")
    body = "## Quiet hours\n\nFrom **10 pm** to 7 am."


class CompanyInformationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompanyInformation

    organisation = factory.SubFactory(OrganisationFactory)
    legal_name = "Voyages Lumière SAS"
    registered_address = "12 quai de la Fosse\n44000 Nantes\nFrance"
    company_number = "RCS Nantes 812 345 678"
    vat_number = "FR 12 812345678"
    contact_email = "legal@voyages.example"
    contact_phone = "+33 2 40 00 00 00"
