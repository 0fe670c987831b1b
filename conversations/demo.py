"""Demo data for `manage.py seed_demo`: conversations on several channels for alice@example.com and bob@example.com,
and custom sign-on with a ready-made link for Alice."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from conversations.models import Channel, Conversation, ConversationSettings, DisplayedAttribute, Message
from portal_auth.doors.external_sign_on.services import external_token_sign
from portal_auth.models import Organisation
from portal_auth.services import customer_get_or_create

CUSTOMER = Message.Direction.FROM_CUSTOMER
STAFF = Message.Direction.FROM_STAFF
# The business's login page in the demo: a placeholder, as the demo has no business site behind it.
DEMO_BUSINESS_LOGIN = "https://login.example.com/voyages-lumiere"

# (email, name, subject, channel, status, days ago, attributes, messages as (direction, text, flags))
DEMO_CONVERSATIONS = [
    (
        "alice@example.com",
        "Alice Martin",
        "Suitcase missing after the Lisbon flight",
        Channel.EMAIL,
        Conversation.Status.OPEN,
        2,
        {"booking_reference": "LIS-2041", "loyalty_tier": "Gold", "agent_queue": "baggage"},
        [
            (CUSTOMER, "My suitcase didn't arrive in Lisbon. The airline gave me the file number LIS-88213.", ""),
            (STAFF, "Sorry to hear that, Alice. We've contacted the airline and will update you here.", ""),
            (STAFF, "Airline says the bag is in Madrid; chase again tomorrow.", "internal"),
            (CUSTOMER, "For the refund, my card number is 4111 1111 1111 1111.", "redacted"),
            (STAFF, "Please never send card details here: we removed that message. The bag lands tonight.", ""),
        ],
    ),
    (
        "alice@example.com",
        "Alice Martin",
        "Seat upgrade on the Alps trip",
        Channel.WHATSAPP,
        Conversation.Status.CLOSED,
        20,
        {"booking_reference": "ALP-1180"},
        [
            (CUSTOMER, "Is there a way to upgrade to first class on the train to Chamonix?", ""),
            (STAFF, "Done! You're in first class both ways, at no extra cost. 🎉", ""),
        ],
    ),
    (
        "alice@example.com",
        "Alice Martin",
        "Vegetarian meals on the food tour",
        Channel.CHAT,
        Conversation.Status.OPEN,
        5,
        {},
        [(CUSTOMER, "I'm vegetarian: can the food tour cater for that?", "")],
    ),
    (
        "bob@example.com",
        "Bob Okafor",
        "Changing my travel dates",
        Channel.SMS,
        Conversation.Status.OPEN,
        1,
        {"booking_reference": "ALP-1180"},
        [
            (CUSTOMER, "Can I arrive a day later for the Alps walking week?", ""),
            (STAFF, "Yes, we've moved your arrival to the Sunday. Your new tickets follow by email.", ""),
        ],
    ),
    (
        "bob@example.com",
        "Bob Okafor",
        "Feedback on Porto",
        Channel.MESSENGER,
        Conversation.Status.CLOSED,
        40,
        {},
        [(CUSTOMER, "The food tour in Porto was wonderful, thank you!", "")],
    ),
]


def seed_demo(*, organisation: Organisation, stdout) -> None:
    with transaction.atomic():
        if organisation.conversations.exists():
            stdout.write("  Conversations exist already; none added.")
        else:
            _displayed_attributes(organisation)
            for conversation_data in DEMO_CONVERSATIONS:
                conversation = _conversation(organisation, *conversation_data)
                stdout.write(
                    f"  {conversation.title} ({conversation.customer.email}, {conversation.get_channel_display()})"
                )
    _custom_sign_on(organisation, stdout)


def _displayed_attributes(organisation: Organisation) -> None:
    conversation_settings, _ = ConversationSettings.objects.get_or_create(organisation=organisation)
    for position, (key, name) in enumerate([("booking_reference", "Booking"), ("loyalty_tier", "Loyalty tier")]):
        DisplayedAttribute.objects.get_or_create(
            settings=conversation_settings, key=key, defaults={"display_name": name, "position": position}
        )


def _conversation(organisation, email, name, subject, channel, status, days_ago, attributes, messages):
    customer = customer_get_or_create(organisation=organisation, email=email, name=name)
    started = timezone.now() - timedelta(days=days_ago)
    conversation = Conversation.objects.create(
        organisation=organisation,
        customer=customer,
        subject=subject,
        channel=channel,
        status=status,
        attributes=attributes,
        created_at=started,
        last_activity_at=started,
    )
    for index, (direction, text, flag) in enumerate(messages):
        created_at = started + timedelta(hours=3 * index)
        Message.objects.create(
            conversation=conversation,
            direction=direction,
            channel=channel,
            # A redacted message keeps no text, as redaction in the admin leaves it.
            body="" if flag == "redacted" else text,
            internal=flag == "internal",
            redacted_at=created_at + timedelta(hours=1) if flag == "redacted" else None,
            author_name=name if direction == CUSTOMER else "Camille from Voyages Lumière",
            created_at=created_at,
        )
        if flag != "internal":
            conversation.last_activity_at = created_at
    conversation.save(update_fields=["last_activity_at"])
    return conversation


def _custom_sign_on(organisation: Organisation, stdout) -> None:
    stdout.write("  Custom sign-on:")
    if not organisation.external_sign_on_secret:
        if not settings.DEBUG:
            # Outside a developer's machine, opening a sign-in door is for staff to decide.
            stdout.write("    Not in DEBUG: open its door in the admin (Organisation › Sign-in › Ways to sign in).")
            return
        organisation.rotate_external_sign_on_secret()
        organisation.external_sign_on_url = organisation.external_sign_on_url or DEMO_BUSINESS_LOGIN
        organisation.external_sign_on_enabled = True
        organisation.save()
    if not organisation.external_sign_on_enabled:
        stdout.write("    Off for this organisation.")
        return
    token = external_token_sign(organisation=organisation, email="alice@example.com")
    callback = reverse("portal_auth:external_sign_on", kwargs={"org": organisation.slug})
    stdout.write("    Signs in alice@example.com once, within 15 minutes (run seed_demo again for a fresh one):")
    stdout.write(f"    {settings.SITE_URL}{callback}?{urlencode({'externalToken': token})}")
    stdout.write(
        f"    The 'Sign in with {organisation.public_name}' button leads to {organisation.external_sign_on_url},"
        " which stands in for the business's own login page."
    )
