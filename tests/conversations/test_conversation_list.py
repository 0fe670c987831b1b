from datetime import timedelta

from django.utils import dateformat, timezone

from conversations.models import Channel, Conversation
from tests.conversations.factories import ConversationFactory
from tests.factories import CustomerFactory


def list_url(organisation):
    return f"/{organisation.slug}/conversations/"


def test_my_conversations_lists_open_and_closed_newest_activity_first(sign_in, customer):
    now = timezone.now()
    old = ConversationFactory(customer=customer, subject="Lost luggage", last_activity_at=now - timedelta(days=3))
    recent = ConversationFactory(
        customer=customer,
        subject="Seat upgrade",
        channel=Channel.WHATSAPP,
        status=Conversation.Status.CLOSED,
        created_at=now - timedelta(days=10),
        last_activity_at=now - timedelta(hours=1),
    )

    response = sign_in(customer).get(list_url(customer.organisation))

    assert response.status_code == 200
    assert [row.pk for row in response.context["page"]] == [recent.pk, old.pk]
    html = response.content.decode()
    assert html.index("Seat upgrade") < html.index("Lost luggage")
    assert "WhatsApp" in html and "Closed" in html and "Open" in html
    iso, shown = dateformat.format(recent.created_at, "c"), dateformat.format(recent.created_at, "j M Y")
    assert f'Started <time datetime="{iso}">{shown}</time>' in html


def test_my_conversations_shows_only_the_customers_own(sign_in, customer, other_customer, other_organisation):
    ConversationFactory(customer=customer, subject="Mine")
    ConversationFactory(customer=other_customer, subject="A neighbour's")
    same_email_elsewhere = CustomerFactory(organisation=other_organisation, email=customer.email)
    ConversationFactory(customer=same_email_elsewhere, subject="Another business's")

    html = sign_in(customer).get(list_url(customer.organisation)).content.decode()

    assert "Mine" in html
    assert "A neighbour&#39;s" not in html and "A neighbour's" not in html
    assert "Another business" not in html


def test_my_conversations_is_paginated(sign_in, customer):
    now = timezone.now()
    for days in range(25):
        ConversationFactory(customer=customer, subject=f"Trip {days:02d}", last_activity_at=now - timedelta(days=days))
    client = sign_in(customer)

    first = client.get(list_url(customer.organisation))
    second = client.get(list_url(customer.organisation), {"page": 2})

    assert len(first.context["page"]) == 20 and "Trip 00" in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert 'aria-label="Pages of conversations"' in first.content.decode()
    assert 'href="?page=2" rel="next">Older →</a>' in first.content.decode()
    assert [c.subject for c in second.context["page"]] == [f"Trip {d:02d}" for d in range(20, 25)]


def test_my_conversations_when_there_are_none(sign_in, customer):
    response = sign_in(customer).get(list_url(customer.organisation))

    assert "You have no conversations" in response.content.decode()


def test_my_conversations_are_never_kept_in_a_cache(sign_in, customer):
    # A shared computer's back button, or a proxy, must not show one customer's list to the next person.
    response = sign_in(customer).get(list_url(customer.organisation))

    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_my_conversations_needs_sign_in(client, organisation):
    response = client.get(list_url(organisation))

    assert response.status_code == 302
    assert response["Location"].startswith(f"/{organisation.slug}/sign-in/?next=")


def test_my_conversations_query_count_does_not_grow(sign_in, customer, django_assert_max_num_queries):
    client = sign_in(customer)
    ConversationFactory.create_batch(2, customer=customer)
    # The session, who is asking, and the page's rows with the list's count.
    with django_assert_max_num_queries(3):
        client.get(list_url(customer.organisation))
    ConversationFactory.create_batch(40, customer=customer)
    with django_assert_max_num_queries(3) as queries:
        response = client.get(list_url(customer.organisation), {"page": 2})
    assert len(response.context["page"]) == 20
    assert (response.context["page"].paginator.count, response.context["page"].number) == (42, 2)
    assert "OVER" in queries.captured_queries[-1]["sql"]
