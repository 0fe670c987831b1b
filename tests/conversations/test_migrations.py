"""The conversations app's migrations, where they change rows that exist."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_conversations_made_before_add_pages_were_sent_once_hold_no_token(migrate):
    apps = migrate([("conversations", "0005_author_name_holds_an_email")])
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    customer = apps.get_model("portal_auth", "Customer").objects.create(organisation=organisation, email="a@b.com")
    for subject in ("Visa", "Seats"):
        apps.get_model("conversations", "Conversation").objects.create(
            organisation=organisation, customer=customer, channel="email", subject=subject
        )

    apps = migrate([("conversations", "0006_conversation_created_once")])

    conversations = apps.get_model("conversations", "Conversation").objects.order_by("subject")
    assert list(conversations.values_list("subject", "request_token")) == [("Seats", ""), ("Visa", "")]
