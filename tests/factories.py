import factory
from django.contrib.auth import get_user_model

from portal_auth.models import Customer, Organisation, Portal


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Voyages {n}")
    slug = factory.Sequence(lambda n: f"voyages-{n}")
    support_email = "help@voyages.example"


def primary_portal_of(organisation: Organisation) -> Portal:
    return organisation.portals.get(is_primary=True)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")

    class Params:
        with_password = factory.Trait(
            password=factory.LazyFunction(lambda: _hashed(CUSTOMER_PASSWORD)),
        )


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@voyages.example")
    is_staff = True
    is_superuser = True
    password = factory.django.Password("staff-password-for-tests")


CUSTOMER_PASSWORD = "correct horse battery staple"


def _hashed(raw: str) -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(raw)
