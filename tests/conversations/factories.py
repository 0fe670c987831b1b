import factory
from django.utils import timezone

from conversations.models import Channel, Conversation, ConversationSettings, DisplayedAttribute, Message
from tests.factories import CustomerFactory


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    organisation = factory.LazyAttribute(lambda c: c.customer.organisation)
    channel = Channel.EMAIL
    subject = factory.Sequence(lambda n: f"Question {n} about my trip")
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda c: c.created_at)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    direction = Message.Direction.FROM_CUSTOMER
    channel = factory.LazyAttribute(lambda m: m.conversation.channel)
    body = factory.Sequence(lambda n: f"Message number {n}")
    created_at = factory.LazyFunction(timezone.now)


class ConversationSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConversationSettings
        django_get_or_create = ["organisation"]


class DisplayedAttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisplayedAttribute

    key = factory.Sequence(lambda n: f"key_{n}")
    display_name = factory.Sequence(lambda n: f"Attribute {n}")
    position = factory.Sequence(int)
