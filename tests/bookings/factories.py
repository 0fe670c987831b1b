import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from bookings.models import AddOn, Attendee, Booking, BookingAddOn, OpeningHours, Resource, Service
from tests.factories import OrganisationFactory


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"Trip {n}")
    starts_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    ends_on = factory.LazyAttribute(lambda b: b.starts_on + datetime.timedelta(days=3))
    main_contact_name = "Main Contact"
    main_contact_email = "main.contact@example.com"


class AttendeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendee

    booking = factory.SubFactory(BookingFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"attendee{n}@example.com")


class AddOnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AddOn

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Extra {n}")
    description = "Something nice."
    price = Decimal("25.00")
    currency = "EUR"


class BookingAddOnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BookingAddOn

    booking = factory.SubFactory(BookingFactory)
    add_on = factory.SubFactory(AddOnFactory, organisation=factory.SelfAttribute("..booking.organisation"))
    price = factory.SelfAttribute("add_on.price")
    currency = factory.SelfAttribute("add_on.currency")
    booked_by = BookingAddOn.BookedBy.STAFF


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Room {n}")


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    resource = factory.SubFactory(ResourceFactory)
    weekday = 0
    opens = datetime.time(9)
    closes = datetime.time(12)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    resource = factory.SubFactory(ResourceFactory, organisation=factory.SelfAttribute("..organisation"))
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "An hour with us."
    duration = datetime.timedelta(hours=1)
    price = Decimal("40.00")
    currency = "EUR"
    capacity = 1
    min_notice = datetime.timedelta(hours=2)
    max_advance = datetime.timedelta(days=30)
    free_cancellation_notice = datetime.timedelta(hours=24)


def open_every_day(resource, opens=datetime.time(9), closes=datetime.time(12)):
    for weekday in range(7):
        OpeningHoursFactory(resource=resource, weekday=weekday, opens=opens, closes=closes)
