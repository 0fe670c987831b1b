import io
import re

from django.test import Client

from conversations.demo import seed_demo
from conversations.models import Channel, Conversation, Message
from portal_auth.models import AccessEvent


def test_demo_creates_conversations_on_several_channels_with_a_note_and_a_redaction(organisation, settings):
    settings.DEBUG = True

    seed_demo(organisation=organisation, stdout=io.StringIO())

    conversations = Conversation.objects.filter(organisation=organisation)
    assert {c.customer.email for c in conversations} == {"alice@example.com", "bob@example.com"}
    assert len({c.channel for c in conversations}) >= 4 and Channel.WHATSAPP in {c.channel for c in conversations}
    assert conversations.filter(status=Conversation.Status.CLOSED).exists()
    messages = Message.objects.filter(conversation__organisation=organisation)
    assert messages.filter(internal=True).exists()
    redacted = messages.get(redacted_at__isnull=False)
    assert redacted.body == ""


def test_demo_prints_a_sign_on_link_that_signs_alice_in_once(organisation, settings):
    settings.DEBUG = True
    out = io.StringIO()

    seed_demo(organisation=organisation, stdout=out)

    organisation.refresh_from_db()
    assert organisation.external_sign_on_enabled and organisation.external_sign_on_secret
    url = re.search(r"https://\S+externalToken=\S+", out.getvalue()).group(0)
    path = url.removeprefix(settings.SITE_URL)
    client = Client()
    # Not started from this browser, so the page names the account and its button signs in.
    confirm = client.get(path)
    assert "Continue as alice@example.com" in confirm.content.decode()
    response = client.post(path.split("?")[0], {"externalToken": confirm.context["token"]})
    assert response.status_code == 302 and response["Location"] == f"/{organisation.slug}/conversations/"
    page = client.get(response["Location"]).content.decode()
    assert "Suitcase missing after the Lisbon flight" in page
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON, customer__email="alice@example.com")
    used_again = Client().post(path.split("?")[0], {"externalToken": confirm.context["token"]})
    assert used_again.status_code == 403


def test_demo_runs_twice_without_duplicating_or_changing_the_secret(organisation, settings):
    settings.DEBUG = True
    seed_demo(organisation=organisation, stdout=io.StringIO())
    organisation.refresh_from_db()
    secret = organisation.external_sign_on_secret
    out = io.StringIO()

    seed_demo(organisation=organisation, stdout=out)

    organisation.refresh_from_db()
    assert organisation.external_sign_on_secret == secret
    assert Conversation.objects.filter(organisation=organisation).count() == 5
    assert "exist already" in out.getvalue() and "externalToken=" in out.getvalue()


def test_demo_outside_debug_leaves_custom_sign_on_off(organisation, settings):
    settings.DEBUG = False
    out = io.StringIO()

    seed_demo(organisation=organisation, stdout=out)

    organisation.refresh_from_db()
    assert not organisation.external_sign_on_enabled and not organisation.external_sign_on_secret
    assert "externalToken" not in out.getvalue()
