from decimal import Decimal

import factory

from billing.models import BillingSettings, Plan
from tests.factories import OrganisationFactory


class BillingSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingSettings
        django_get_or_create = ["organisation"]

    organisation = factory.SubFactory(OrganisationFactory)
    legal_name = factory.LazyAttribute(lambda s: f"{s.organisation.name} Ltd")
    address = "1 Harbour Street\nLisbon 1100-001"
    tax_number = "PT 500 100 200"
    payment_instructions = "Bank transfer to IBAN PT50 0002 0123 1234 5678 9015 4"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    organisation = factory.SubFactory(OrganisationFactory)
    name = "Voyager Club"
    benefits = ["Free breakfast", "Late check-out"]
    price = Decimal("30.00")
    currency = "EUR"
    period = Plan.Period.MONTH
