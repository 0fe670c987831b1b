"""Staff in the admin: tickets with their conversation, portal links, revocation, filters and search."""

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import OutboxEmail
from portal_auth.models import AccessEvent, CustomerToken
from tests.conftest import admin_page_data, assert_link_signs_in_once, assert_plain_link, link_in
from tests.factories import CustomerFactory, StaffUserFactory
from tests.tickets.conftest import events
from tickets.models import Ticket, TicketMessage
from tickets.services import ticket_reply

CHANGELIST = "/admin/tickets/ticket/"


def form_data(ticket=None, *, organisation=None, requester=None, reply=None, **fields):
    """What the admin's ticket form posts: the ticket's fields and, optionally, a reply (text, internal)."""
    body, internal = reply or ("", False)
    return {
        "organisation": (organisation or ticket.organisation).pk,
        "requester": (requester or ticket.requester).pk,
        "company": "",
        "subject": ticket.subject if ticket else "Your booking documents",
        "status": ticket.status if ticket else "open",
        "priority": ticket.priority if ticket else "normal",
        "assigned_agent": "",
        "reply": body,
        "reply_kind": "internal" if internal else "public",
        **fields,
    }


def change_url(ticket):
    return f"{CHANGELIST}{ticket.pk}/change/"


def numbers_listed(response):
    return sorted(
        int(n) for n in re.findall(r'<th class="field-number"><a href="[^"]+">(\d+)</a>', response.content.decode())
    )


class TestStaffReplies:
    def test_a_public_reply_is_emailed_with_its_text_and_a_link_that_signs_in_once(
        self, admin_client, staff_user, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        ticket.organisation.notification_links_sign_in = True
        ticket.organisation.save()
        before = ticket.updated_at
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                change_url(ticket), form_data(ticket, reply=("Your bag has been found.", False))
            )
        assert response.status_code == 302, response.content.decode()[:3000]
        message = TicketMessage.objects.get()
        assert (message.author_staff, message.author_customer, message.internal) == (staff_user, None, False)
        [email] = mailoutbox
        assert email.to == [ticket.requester.email]
        assert "Your bag has been found." in email.body
        ticket.refresh_from_db()
        assert ticket.updated_at > before
        lands_on = f"/{ticket.organisation.slug}/support/{ticket.number}/"
        assert_link_signs_in_once(email, customer=ticket.requester, lands_on=lands_on, link_path="/support/portal/")
        assert CustomerToken.objects.get().created_by == staff_user

    def test_the_same_page_saved_twice_sends_its_reply_once(
        self, admin_client, staff_user, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        shown = admin_page_data(admin_client.get(change_url(ticket)))
        data = {**shown, "reply": "Your bag has been found.", "reply_kind": "public"}

        with django_capture_on_commit_callbacks(execute=True):
            first = admin_client.post(change_url(ticket), data)
            again = admin_client.post(change_url(ticket), data, follow=True)

        assert first.status_code == 302
        assert "This page&#x27;s reply was sent already, so it was not sent again." in again.content.decode()
        assert TicketMessage.objects.filter(ticket=ticket, body="Your bag has been found.").count() == 1
        assert [email.to for email in mailoutbox] == [[ticket.requester.email]]
        # A page shown afresh is a new sending: the same words from it are a second reply.
        shown = admin_page_data(admin_client.get(change_url(ticket)))
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                change_url(ticket), {**shown, "reply": "Your bag has been found.", "reply_kind": "public"}
            )
        assert TicketMessage.objects.filter(ticket=ticket, body="Your bag has been found.").count() == 2
        assert len(mailoutbox) == 2

    def test_the_same_page_saved_twice_adds_its_internal_note_once(self, admin_client, ticket, mailoutbox):
        data = {**admin_page_data(admin_client.get(change_url(ticket))), "reply": "Call back", "reply_kind": "internal"}

        for _ in range(2):
            assert admin_client.post(change_url(ticket), data).status_code == 302

        assert TicketMessage.objects.filter(body="Call back", internal=True).count() == 1
        assert mailoutbox == []

    def test_without_the_setting_the_reply_email_asks_to_sign_in(
        self, admin_client, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(change_url(ticket), form_data(ticket, reply=("Found it.", False)))
        [email] = mailoutbox
        assert "Found it." in email.body
        assert_plain_link(email, path=f"/{ticket.organisation.slug}/support/{ticket.number}/")

    def test_an_internal_note_is_emailed_to_nobody_and_leaves_the_ticket_unchanged_for_the_customer(
        self, admin_client, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        ticket.organisation.notification_links_sign_in = True
        ticket.organisation.save()
        before = ticket.updated_at
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(change_url(ticket), form_data(ticket, reply=("Check the fraud list", True)))
        assert TicketMessage.objects.get().internal is True
        assert mailoutbox == []
        ticket.refresh_from_db()
        assert ticket.updated_at == before

    def test_sent_messages_stay_as_sent(self, admin_client, ticket, make_message):
        message = make_message(ticket=ticket, body="Original")
        data = form_data(ticket, **{"messages-TOTAL_FORMS": 1, "messages-INITIAL_FORMS": 1})
        data.update({"messages-0-id": message.pk, "messages-0-body": "Rewritten"})
        admin_client.post(change_url(ticket), data)
        message.refresh_from_db()
        assert message.body == "Original"

    def test_the_reply_box_is_labelled_and_internal_notes_are_marked_in_the_timeline(
        self, admin_client, ticket, make_message, staff_user
    ):
        make_message(ticket=ticket, body="Where is my bag?")
        make_message(ticket=ticket, internal=True, author_staff=staff_user, body="Check the fraud list")
        make_message(ticket=ticket, from_staff=True, author_staff=staff_user, body="Found it")

        html = admin_client.get(change_url(ticket)).content.decode()

        assert '<label for="id_reply">Write a reply:</label>' in html
        assert '<fieldset><legend class="required">Send as:</legend>' in html
        assert html.count('type="radio" name="reply_kind"') == 2
        kinds = re.findall(r'<li id="message-\d+" class="([^"]+)">.*?<span class="badge">([^<]+)</span>', html, re.S)
        assert kinds == [("public", "From the requester"), ("internal", "Internal note"), ("public", "Public reply")]
        assert 'name="messages-' not in html  # no unlabelled inline row left

    def test_staff_who_may_only_view_tickets_read_the_timeline_without_a_reply_box(self, client, ticket, make_message):
        from django.contrib.auth.models import Permission

        make_message(ticket=ticket, body="Where is my bag?")
        viewer = StaffUserFactory(is_superuser=False)
        viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
        client.force_login(viewer)

        page = client.get(change_url(ticket))

        assert page.status_code == 200
        assert "Where is my bag?" in page.content.decode()
        assert "Write a reply" not in page.content.decode()

    def test_an_empty_reply_adds_nothing_and_emails_nobody(self, admin_client, ticket, mailoutbox):
        response = admin_client.post(change_url(ticket), form_data(ticket, reply=("  \r\n ", False)))
        assert response.status_code == 302
        assert not TicketMessage.objects.exists() and mailoutbox == []

    def test_the_change_page_shows_the_conversation_and_the_send_link_button(
        self, admin_client, ticket, make_message, staff_user
    ):
        make_message(ticket=ticket, body="Customer question")
        make_message(ticket=ticket, internal=True, author_staff=staff_user, body="Staff-only note")
        page = admin_client.get(change_url(ticket)).content.decode()
        assert "Customer question" in page and "Staff-only note" in page
        assert "Send portal link" in page
        assert f"/admin/tickets/ticket/{ticket.pk}/send-portal-link/" in page


class TestStaffCreatedTickets:
    def test_a_new_ticket_takes_the_next_number_and_its_first_message(
        self, admin_client, customer, organisation, make_ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        make_ticket()
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                f"{CHANGELIST}add/",
                form_data(organisation=organisation, requester=customer, reply=("We need your passport.", False)),
            )
        assert response.status_code == 302
        ticket = Ticket.objects.get(subject="Your booking documents")
        assert ticket.number == 2
        assert ticket.messages.get().body == "We need your passport."
        # No portal link on a staff-created ticket by default; its public reply is emailed as any other is.
        [email] = mailoutbox
        assert email.to == [customer.email] and "We need your passport." in email.body
        assert "Reply emailed to" in admin_client.get(response["Location"]).content.decode()

    def test_a_reply_not_emailed_says_why(self, admin_client, customer, organisation, make_ticket, mailoutbox):
        ticket = make_ticket(requester=customer)
        customer.email_choices = {"ticket_replies": False}
        customer.save()

        response = admin_client.post(
            f"{CHANGELIST}{ticket.pk}/change/", form_data(ticket, reply=("Fixed on our side.", False)), follow=True
        )

        assert "Reply added to the ticket, not emailed: the requester turned reply emails off." in (
            response.content.decode().replace("&#x27;", "'")
        )
        assert mailoutbox == []

    def test_with_the_setting_the_requester_gets_a_link(
        self, admin_client, customer, organisation, ticket_settings, mailoutbox, django_capture_on_commit_callbacks
    ):
        ticket_settings.link_on_staff_ticket = True
        ticket_settings.save()
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                f"{CHANGELIST}add/",
                form_data(organisation=organisation, requester=customer, reply=("We need your passport.", False)),
            )
        [email] = mailoutbox
        assert email.to == [customer.email]
        assert "We need your passport." in email.body
        assert "/support/portal/" in email.body
        assert CustomerToken.objects.get().next_path.endswith("/support/1/")

    def test_behind_a_closed_link_door_the_requester_hears_of_the_ticket_with_a_link_behind_sign_in(
        self, admin_client, customer, organisation, ticket_settings, mailoutbox, django_capture_on_commit_callbacks
    ):
        ticket_settings.link_on_staff_ticket = True
        ticket_settings.save()
        organisation.doors = ["password"]
        organisation.save()
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                f"{CHANGELIST}add/",
                form_data(organisation=organisation, requester=customer, reply=("We need your passport.", False)),
            )
        [email] = mailoutbox
        assert "We need your passport." in email.body
        assert f"https://portal.example.test/{organisation.slug}/support/1/" in email.body
        assert "sign in first" in email.body
        assert not CustomerToken.objects.exists()

    def test_a_new_tickets_first_internal_note_is_in_no_email(
        self, admin_client, customer, organisation, ticket_settings, mailoutbox, django_capture_on_commit_callbacks
    ):
        ticket_settings.link_on_staff_ticket = True
        ticket_settings.save()
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                f"{CHANGELIST}add/",
                form_data(organisation=organisation, requester=customer, reply=("Customer seems anxious", True)),
            )
        [email] = mailoutbox
        assert TicketMessage.objects.get().internal is True
        assert "anxious" not in email.body + email.alternatives[0].content

    def test_a_requester_of_another_organisation_is_refused(self, admin_client, organisation, other_organisation):
        foreigner = CustomerFactory(organisation=other_organisation)
        response = admin_client.post(f"{CHANGELIST}add/", form_data(organisation=organisation, requester=foreigner))
        assert response.status_code == 200
        assert "Choose one of this organisation" in response.content.decode()
        assert not Ticket.objects.exists()


class TestPortalLinks:
    def test_send_portal_link_from_a_ticket(
        self, admin_client, staff_user, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"{CHANGELIST}{ticket.pk}/send-portal-link/", follow=True)
        assert "Portal link to ticket #1 emailed to" in response.content.decode()
        [email] = mailoutbox
        assert email.to == [ticket.requester.email]
        link = link_in(email.body, "/support/portal/")
        assert len(link.rsplit("/", 1)[1]) >= 64
        assert CustomerToken.objects.get().created_by == staff_user

    def test_no_link_is_sent_behind_a_closed_link_door(self, admin_client, ticket, mailoutbox):
        ticket.organisation.doors = ["password"]
        ticket.organisation.save()

        response = admin_client.post(f"{CHANGELIST}{ticket.pk}/send-portal-link/", follow=True)

        assert "No link sent" in response.content.decode()
        assert "has closed emailed sign-in links" in response.content.decode()
        assert not CustomerToken.objects.exists()
        assert mailoutbox == []

    def test_a_get_sends_nothing(self, admin_client, ticket, mailoutbox):
        response = admin_client.get(f"{CHANGELIST}{ticket.pk}/send-portal-link/")
        assert response.status_code == 302
        assert not CustomerToken.objects.exists()

    def test_send_portal_links_to_many_tickets(
        self, admin_client, make_ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        tickets = [make_ticket(requester=CustomerFactory(organisation=make_ticket().organisation)) for _ in range(2)]
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                CHANGELIST,
                {"action": "send_portal_links", "_selected_action": [t.pk for t in tickets]},
                follow=True,
            )
        assert "Sent 2 portal links." in response.content.decode()
        assert sorted(m.to[0] for m in mailoutbox) == sorted(t.requester.email for t in tickets)

    def test_revoke_a_customers_links(
        self, admin_client, staff_user, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        from tickets.services import ticket_portal_link_send

        for _ in range(2):
            ticket_portal_link_send(ticket=ticket, staff_user=staff_user)
        response = admin_client.post(
            "/admin/portal_auth/customer/",
            {"action": "revoke_access_links", "_selected_action": [ticket.requester.pk]},
            follow=True,
        )
        assert "Revoked 2 portal link(s) of 1 customer(s)." in response.content.decode()
        assert CustomerToken.objects.filter(revoked_at__isnull=True).count() == 0
        [event] = events(AccessEvent.Kind.ACCESS_LINKS_REVOKED)
        assert event.staff_user == staff_user


class TestChangelist:
    @pytest.fixture
    def tickets(self, make_ticket, organisation):
        agent = get_user_model().objects.create(username="ines", is_staff=True)

        def requester(email):
            return CustomerFactory(organisation=organisation, email=email)

        return {
            "urgent": make_ticket(
                requester=requester("amy@example.com"),
                priority="urgent",
                subject="Flight cancelled",
                assigned_agent=agent,
            ),
            "low": make_ticket(requester=requester("bea@example.com"), priority="low", status="solved", subject="Menu"),
            "other": make_ticket(requester=requester("zed@example.com"), subject="Other"),
            "agent": agent,
        }

    def test_filters_by_status_priority_and_agent(self, admin_client, tickets):
        assert numbers_listed(admin_client.get(CHANGELIST, {"status__exact": "solved"})) == [tickets["low"].number]
        assert numbers_listed(admin_client.get(CHANGELIST, {"priority__exact": "urgent"})) == [tickets["urgent"].number]
        by_agent = admin_client.get(CHANGELIST, {"assigned_agent__id__exact": tickets["agent"].pk})
        assert numbers_listed(by_agent) == [tickets["urgent"].number]

    def test_search_by_number_subject_and_requester_email(self, admin_client, tickets):
        assert numbers_listed(admin_client.get(CHANGELIST, {"q": str(tickets["low"].number)})) == [
            tickets["low"].number
        ]
        assert numbers_listed(admin_client.get(CHANGELIST, {"q": "cancelled"})) == [tickets["urgent"].number]
        assert numbers_listed(admin_client.get(CHANGELIST, {"q": "zed@example"})) == [tickets["other"].number]

    def test_the_changelist_links_the_usage_report(self, admin_client, tickets):
        assert "/admin/portal_auth/accessevent/portal-usage/" in admin_client.get(CHANGELIST).content.decode()


def test_staff_download_any_attachment_customers_do_not_reach_the_admin(
    admin_client, sign_in, customer, ticket, make_message
):
    from tests.tickets.test_ticket_detail import attach

    attachment = attach(make_message(ticket=ticket, internal=True, author_customer=None))
    response = admin_client.get(f"{CHANGELIST}attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == attachment.file.open("rb").read()
    assert 'attachment; filename="receipt.pdf"' in response["Content-Disposition"]
    # Never rendered, even in a staff member's browser, and not kept in a shared cache.
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert sign_in(customer).get(f"{CHANGELIST}attachments/{attachment.pk}/").status_code == 302


def test_no_email_is_left_unsent(admin_client, ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change_url(ticket), form_data(ticket, reply=("Hello", False)))
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_revoking_links_needs_permission_to_change_customers(ticket, staff_user):
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tickets.services import ticket_portal_link_send

    ticket_portal_link_send(ticket=ticket, staff_user=staff_user)
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client = Client()
    client.force_login(viewer)
    client.post(
        "/admin/portal_auth/customer/", {"action": "revoke_access_links", "_selected_action": [ticket.requester.pk]}
    )
    assert CustomerToken.objects.get().revoked_at is None


@pytest.mark.parametrize("how", ["delete page", "delete action"])
def test_deleting_tickets_deletes_their_attachments_files_once_committed(
    admin_client, ticket, make_ticket, make_message, how, django_capture_on_commit_callbacks
):
    from tests.tickets.test_ticket_detail import attach

    kept_ticket = make_ticket(subject="Kept")
    deleted = [attach(make_message(ticket=ticket)), attach(make_message(ticket=ticket, internal=True))]
    kept = attach(make_message(ticket=kept_ticket))
    storage = kept.file.storage

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if how == "delete page":
            response = admin_client.post(f"{CHANGELIST}{ticket.pk}/delete/", {"post": "yes"})
        else:
            response = admin_client.post(
                CHANGELIST, {"action": "delete_selected", "_selected_action": [ticket.pk], "post": "yes"}
            )
        # Until the deletion commits, the files stay: a rolled-back delete keeps its attachments whole.
        assert all(storage.exists(a.file.name) for a in deleted)
    for callback in callbacks:
        callback()

    assert response.status_code == 302
    assert list(Ticket.objects.all()) == [kept_ticket]
    assert not any(storage.exists(a.file.name) for a in deleted)
    assert storage.exists(kept.file.name)


def shown_on(page: str) -> str:
    """The hidden record of what the change page showed, as the browser posts it back."""
    return html.unescape(re.search(r'name="shown" value="([^"]*)"', page).group(1))


def test_a_status_the_customer_changed_while_staff_had_the_page_open_is_kept(admin_client, customer, make_ticket):
    ticket = make_ticket(requester=customer, status=Ticket.Status.SOLVED)
    shown = shown_on(admin_client.get(change_url(ticket)).content.decode())
    ticket_reply(ticket=ticket, customer=customer, body="It happened again.")  # reopens it

    response = admin_client.post(
        change_url(ticket), form_data(ticket, status="solved", shown=shown, reply=("Checking the logs", True))
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # the staff member left the status as shown: the customer's stands
    assert ticket.messages.filter(body="Checking the logs", internal=True).exists()


def test_a_status_staff_changed_is_saved_whatever_the_customer_did(admin_client, customer, make_ticket):
    ticket = make_ticket(requester=customer, status=Ticket.Status.SOLVED)
    shown = shown_on(admin_client.get(change_url(ticket)).content.decode())
    ticket_reply(ticket=ticket, customer=customer, body="It happened again.")

    admin_client.post(change_url(ticket), form_data(ticket, status="closed", shown=shown))

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED


def test_a_ticket_stays_in_its_organisation(admin_client, ticket, other_organisation):
    page = admin_client.get(change_url(ticket))

    response = admin_client.post(change_url(ticket), {**admin_page_data(page), "organisation": other_organisation.pk})

    assert 'name="organisation"' not in page.content.decode()
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.organisation != other_organisation


def test_a_ticket_can_not_be_given_a_requester_of_another_organisation(admin_client, ticket, other_organisation):
    foreigner = CustomerFactory(organisation=other_organisation)
    page = admin_client.get(change_url(ticket))

    response = admin_client.post(change_url(ticket), {**admin_page_data(page), "requester": foreigner.pk})

    assert response.status_code == 200
    assert "Choose one of this organisation" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.requester != foreigner


def test_the_staff_list_reads_its_order_off_the_primary_key_and_counts_once(admin_client, make_ticket):
    older = make_ticket(status="open")
    newer = make_ticket(status="open")
    make_ticket(status="solved")
    Ticket.objects.filter(pk=older.pk).update(updated_at=newer.updated_at + timedelta(hours=1))

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST, {"status__exact": "open"})

    assert response.context["cl"].result_count == 2
    assert list(response.context["cl"].result_list) == [newer, older]  # newest first, whenever last updated
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Ticket._meta.db_table)
    # No index in the customers' order across organisations: see TicketAdmin.ordering.
    assert not [c for c in constraints.values() if c["index"] and c["columns"][:1] == ["updated_at"]]
    assert len([query for query in queries if "COUNT(" in query["sql"].upper()]) == 1


def test_sending_portal_links_says_which_tickets_got_none_and_why(
    admin_client, organisation, other_organisation, make_ticket, mailoutbox, django_capture_on_commit_callbacks
):
    make_ticket()
    make_ticket(requester=CustomerFactory(organisation=organisation, is_active=False))
    other_organisation.doors = ["password"]
    other_organisation.save()
    make_ticket(organisation=other_organisation, requester=CustomerFactory(organisation=other_organisation))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST, {"action": "send_portal_links", "_selected_action": Ticket.objects.values_list("pk", flat=True)}
        )

    shown = [str(message) for message in response.wsgi_request._messages]
    assert shown == [
        "Sent 1 portal link.",
        "1 ticket got no link: the requester is deactivated.",
        "1 ticket got no link: their organisation has closed emailed sign-in links (Organisation › Ways to sign in).",
    ]
    assert len(mailoutbox) == 1
