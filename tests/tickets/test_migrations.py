"""The tickets app's data migrations.

The ticket setting "put a portal link in every public reply" moved to the organisation, every app's emails now
following it: an organisation that had it on keeps links that sign in. A message keeps its author's name: existing
messages get the name their page showed."""

import pytest

BEFORE = [("portal_auth", "0005_rate_limit_counters"), ("tickets", "0001_initial")]
AFTER = [
    ("portal_auth", "0006_notification_links_sign_in"),
    ("tickets", "0002_public_reply_link_setting_moves_to_organisation"),
]

LATEST_PORTAL_AUTH = "0008_rate_limit_counters_move_to_core"


@pytest.mark.django_db(transaction=True)
def test_organisations_that_linked_every_public_reply_keep_links_that_sign_in(migrate):
    apps = migrate(BEFORE)
    Organisation = apps.get_model("portal_auth", "Organisation")
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    for slug, linked in (("linked", True), ("unlinked", False)):
        TicketSettings.objects.create(
            organisation=Organisation.objects.create(name=slug, slug=slug), link_on_public_reply=linked
        )
    Organisation.objects.create(name="none", slug="no-ticket-settings")

    apps = migrate(AFTER)
    signing = apps.get_model("portal_auth", "Organisation").objects.filter(notification_links_sign_in=True)
    assert list(signing.values_list("slug", flat=True)) == ["linked"]

    apps = migrate(BEFORE)  # and back, for a rollback
    kept = apps.get_model("tickets", "TicketSettings").objects.filter(link_on_public_reply=True)
    assert list(kept.values_list("organisation__slug", flat=True)) == ["linked"]


@pytest.mark.django_db(transaction=True)
def test_existing_messages_keep_the_author_name_their_page_showed(migrate):
    apps = migrate([("portal_auth", LATEST_PORTAL_AUTH), ("tickets", "0003_attachment_is_a_stored_upload")])
    Organisation = apps.get_model("portal_auth", "Organisation")
    Customer = apps.get_model("portal_auth", "Customer")
    User = apps.get_model("auth", "User")
    Ticket = apps.get_model("tickets", "Ticket")
    TicketMessage = apps.get_model("tickets", "TicketMessage")
    organisation = Organisation.objects.create(name="Travel", slug="travel")
    named = Customer.objects.create(organisation=organisation, email="ana@example.com", name="Ana Lima")
    unnamed = Customer.objects.create(organisation=organisation, email="bo@example.com")
    full = User.objects.create(username="agent1", first_name="Sam", last_name="Reyes", is_staff=True)
    first_only = User.objects.create(username="agent2", first_name="Kim", is_staff=True)
    nameless = User.objects.create(username="agent3", email="agent3@example.com", is_staff=True)
    ticket = Ticket.objects.create(organisation=organisation, number=1, requester=named, subject="Seats")
    authors = [
        {"author_customer": named},
        {"author_customer": unnamed},
        {"author_staff": full},
        {"author_staff": first_only},
        {"author_staff": nameless},
        {},
    ]
    for author in authors:
        TicketMessage.objects.create(ticket=ticket, body="…", **author)

    apps = migrate([("portal_auth", LATEST_PORTAL_AUTH), ("tickets", "0004_message_author_name_kept")])
    messages = apps.get_model("tickets", "TicketMessage").objects.order_by("pk")
    assert list(messages.values_list("author_name", flat=True)) == [
        "Ana Lima",
        "bo@example.com",
        "Sam Reyes",
        "Kim",
        "Support team",
        "Support team",
    ]


@pytest.mark.django_db(transaction=True)
def test_tickets_made_before_add_pages_were_sent_once_hold_no_token(migrate):
    apps = migrate([("tickets", "0010_author_name_holds_an_email")])
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    customer = apps.get_model("portal_auth", "Customer").objects.create(organisation=organisation, email="a@b.com")
    for number in (1, 2):
        apps.get_model("tickets", "Ticket").objects.create(
            organisation=organisation, number=number, requester=customer, subject="Seats"
        )

    apps = migrate([("tickets", "0011_ticket_created_once")])

    tickets = apps.get_model("tickets", "Ticket").objects.order_by("number")
    assert list(tickets.values_list("number", "request_token")) == [(1, ""), (2, "")]


@pytest.mark.django_db(transaction=True)
def test_tickets_made_before_the_folded_subject_are_found_by_a_search(migrate):
    apps = migrate([("tickets", "0011_ticket_created_once")])
    organisation = apps.get_model("portal_auth", "Organisation").objects.create(name="Travel", slug="travel")
    customer = apps.get_model("portal_auth", "Customer").objects.create(organisation=organisation, email="a@b.com")
    apps.get_model("tickets", "Ticket").objects.create(
        organisation=organisation, number=1, requester=customer, subject="Lost luggage in Lisbon"
    )

    apps = migrate([("tickets", "0012_subject_folded_for_search")])

    tickets = apps.get_model("tickets", "Ticket").objects
    assert list(tickets.values_list("subject_folded", flat=True)) == ["LOST LUGGAGE IN LISBON"]
