"""The page cache from a customer's side: a repeat view is the page as it is now, theirs alone.

Every write that changes what a page shows is listed in WRITES: each is made between two views of the
page, and the second view must show it. A write path missing here is a page that could show old data.
"""

import datetime
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSession
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware, get_nonce
from django.test import Client

from bookings.models import Attendee, BookingAddOn, BookingSettings
from bookings.services import booking_add_ons_save_by_staff
from conversations.models import Conversation, ConversationSettings, Message
from conversations.services import conversation_staff_reply, message_redact
from portal_auth.doors.access_link.services import access_links_revoke
from portal_auth.models import Customer, Portal
from portal_auth.services import customer_password_reset_by_staff
from portal_auth.sessions import portal_sign_in
from portal_core import page_cache
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingAddOnFactory, BookingFactory
from tests.conftest import _SessionRequest
from tests.conversations.factories import ConversationFactory, DisplayedAttributeFactory, MessageFactory
from tests.factories import CustomerFactory, primary_portal_of
from tests.tickets.factories import CompanyFactory, TicketFactory, TicketMessageFactory, TicketSettingsFactory
from tickets.models import Ticket, TicketSettings
from tickets.services import ticket_save_by_staff, ticket_staff_reply

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(customer, staff_user):
    """A customer with a booking, a ticket and a conversation: something on every page to change."""
    organisation = customer.organisation
    booking = BookingFactory(organisation=organisation, title="Lisbon weekend")
    AttendeeFactory(booking=booking, email=customer.email, name="The Customer")
    ticket = TicketFactory(organisation=organisation, requester=customer, subject="Lost luggage")
    TicketMessageFactory(ticket=ticket, body="Where is my bag?")
    conversation = ConversationFactory(customer=customer, subject="Seat upgrade")
    MessageFactory(conversation=conversation, body="Can I have a window seat?")
    return Paths(customer, booking, ticket, conversation, staff_user)


@dataclass
class Paths:
    customer: Customer
    booking: object
    ticket: Ticket
    conversation: Conversation
    staff_user: object

    @property
    def home(self) -> str:
        return f"/{self.customer.organisation.slug}/"

    @property
    def bookings(self) -> str:
        return f"{self.home}bookings/"

    @property
    def booking_page(self) -> str:
        return f"{self.bookings}{self.booking.reference}/"

    @property
    def tickets(self) -> str:
        return f"{self.home}support/"

    @property
    def ticket_page(self) -> str:
        return f"{self.tickets}{self.ticket.number}/"

    @property
    def conversations(self) -> str:
        return f"{self.home}conversations/"

    @property
    def conversation_page(self) -> str:
        return f"{self.conversations}{self.conversation.pk}/"


def _rename_booking(w: Paths, client: Client) -> None:
    w.booking.title = "Porto weekend"
    w.booking.save()


def _add_attendee_booking(w: Paths, client: Client) -> None:
    other = BookingFactory(organisation=w.customer.organisation, title="Porto weekend")
    AttendeeFactory(booking=other, email=w.customer.email)


def _change_attendee_email(w: Paths, client: Client) -> None:
    attendee = Attendee.objects.get(booking=w.booking, email=w.customer.email)
    attendee.email = "someone.else@example.com"
    attendee.save()


def _remove_attendee(w: Paths, client: Client) -> None:
    Attendee.objects.filter(booking=w.booking, email=w.customer.email).get().delete()


def _delete_booking(w: Paths, client: Client) -> None:
    w.booking.delete()


def _staff_add_on(w: Paths, client: Client) -> None:
    line = BookingAddOn(booking=w.booking, add_on=AddOnFactory(organisation=w.customer.organisation, name="Porto wine"))
    line.price, line.currency = line.add_on.price, line.add_on.currency
    booking_add_ons_save_by_staff(lines=[line], deleted=[], staff_user=w.staff_user)


def _customer_books_add_on(w: Paths, client: Client) -> None:
    add_on = AddOnFactory(organisation=w.customer.organisation, name="Porto wine")
    client.post(f"{w.booking_page}add-ons/{add_on.pk}/book/", {"price": str(add_on.price), "currency": add_on.currency})
    assert BookingAddOn.objects.filter(add_on=add_on).exists()


def _customer_cancels_add_on(w: Paths, client: Client) -> None:
    line = BookingAddOn.objects.get(booking=w.booking, booked_by_customer=w.customer)
    client.post(f"{w.booking_page}add-ons/{line.add_on_id}/cancel/")
    line.refresh_from_db()
    assert line.cancelled_at is not None


def _booked_by_customer(w: Paths) -> BookingAddOn:
    return BookingAddOnFactory(
        booking=w.booking,
        add_on__name="Porto wine",
        booked_by=BookingAddOn.BookedBy.CUSTOMER,
        booked_by_customer=w.customer,
    )


def _upload_document(w: Paths, client: Client) -> None:
    client.post(f"{w.booking_page}documents/", {"file": SimpleUploadedFile("porto.pdf", PDF_BYTES)})


def _new_add_on_offered(w: Paths, client: Client) -> None:
    AddOnFactory(organisation=w.customer.organisation, name="Porto wine")


def _booking_settings(w: Paths, client: Client) -> None:
    settings, _ = BookingSettings.objects.get_or_create(organisation=w.customer.organisation)
    settings.add_on_cancellation_notice = datetime.timedelta(days=3650)
    settings.save()


def _customer_replies_to_ticket(w: Paths, client: Client) -> None:
    client.post(f"{w.ticket_page}reply/", {"body": "Porto is where it went"})


def _customer_attaches_to_ticket(w: Paths, client: Client) -> None:
    client.post(
        f"{w.ticket_page}reply/", {"body": "See file", "attachments": [SimpleUploadedFile("porto.pdf", PDF_BYTES)]}
    )


def _staff_replies_to_ticket(w: Paths, client: Client) -> None:
    TicketMessageFactory(ticket=w.ticket, body="Porto is where it went", from_staff=True, internal=True)
    ticket_staff_reply(
        ticket=w.ticket, staff_user=w.staff_user, body="Porto is where it went", internal=False, created=True
    )


def _staff_changes_ticket_status(w: Paths, client: Client) -> None:
    w.ticket.status = Ticket.Status.SOLVED
    ticket_save_by_staff(ticket=w.ticket, created=False, changed_fields=["status"])


def _customer_marks_solved(w: Paths, client: Client) -> None:
    client.post(f"{w.ticket_page}solve/")
    assert Ticket.objects.get(pk=w.ticket.pk).status == Ticket.Status.SOLVED


def _customer_opens_ticket(w: Paths, client: Client) -> None:
    client.post(f"{w.tickets}new/", {"subject": "Porto question", "priority": "normal", "body": "Hello"})
    assert Ticket.objects.filter(subject="Porto question").exists()


def _ticket_moved_to_another_requester(w: Paths, client: Client) -> None:
    w.ticket.requester = CustomerFactory(organisation=w.customer.organisation)
    w.ticket.save()


def _company_ticket_appears(w: Paths, client: Client) -> None:
    TicketSettingsFactory(
        organisation=w.customer.organisation, customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    )
    company = CompanyFactory(organisation=w.customer.organisation, members=[w.customer])
    colleague = CustomerFactory(organisation=w.customer.organisation)
    client.get(w.tickets)  # the list with the company, before its ticket
    TicketFactory(organisation=w.customer.organisation, requester=colleague, company=company, subject="Porto freight")


def _joins_a_company(w: Paths, client: Client) -> None:
    TicketSettingsFactory(
        organisation=w.customer.organisation, customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    )
    company = CompanyFactory(organisation=w.customer.organisation)
    colleague = CustomerFactory(organisation=w.customer.organisation)
    TicketFactory(organisation=w.customer.organisation, requester=colleague, company=company, subject="Porto freight")
    client.get(w.tickets)
    company.members.add(w.customer)


def _ticket_settings_open_company_tickets(w: Paths, client: Client) -> None:
    company = CompanyFactory(organisation=w.customer.organisation, members=[w.customer])
    colleague = CustomerFactory(organisation=w.customer.organisation)
    TicketFactory(organisation=w.customer.organisation, requester=colleague, company=company, subject="Porto freight")
    client.get(w.tickets)
    TicketSettingsFactory(
        organisation=w.customer.organisation, customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY
    )


def _customer_replies_to_conversation(w: Paths, client: Client) -> None:
    client.post(w.conversation_page, {"body": "Porto is where it went"})


def _staff_replies_to_conversation(w: Paths, client: Client) -> None:
    conversation_staff_reply(conversation=w.conversation, staff_user=w.staff_user, body="Porto desk", internal=False)


def _staff_redacts_a_message(w: Paths, client: Client) -> None:
    message = Message.objects.get(conversation=w.conversation)
    message_redact(message=message, staff_user=w.staff_user)


def _staff_closes_conversation(w: Paths, client: Client) -> None:
    w.conversation.status = Conversation.Status.CLOSED
    w.conversation.save()


def _reopening_turned_off(w: Paths, client: Client) -> None:
    w.conversation.status = Conversation.Status.CLOSED
    w.conversation.save()
    client.get(w.conversation_page)
    ConversationSettings.objects.update_or_create(
        organisation=w.customer.organisation, defaults={"customers_may_reopen": False}
    )


def _displayed_attribute_added(w: Paths, client: Client) -> None:
    settings, _ = ConversationSettings.objects.get_or_create(organisation=w.customer.organisation)
    w.conversation.attributes = {"port": "Porto"}
    w.conversation.save()
    client.get(w.conversation_page)
    DisplayedAttributeFactory(settings=settings, key="port", display_name="Port of call")


def _portal_renamed(w: Paths, client: Client) -> None:
    portal = primary_portal_of(w.customer.organisation)
    portal.name = "Porto Travel"
    portal.save()


def _organisation_colour(w: Paths, client: Client) -> None:
    portal = primary_portal_of(w.customer.organisation)
    portal.accent_colour = "#0b5d1e"
    portal.save()


def _customer_renamed(w: Paths, client: Client) -> None:
    w.customer.name = "Porto Customer"
    w.customer.save()


@dataclass
class Write:
    page: Callable[[Paths], str]
    make: Callable[[Paths, Client], None]
    shows: str = ""
    hides: str = ""
    setup: Callable[[Paths], object] = lambda w: None


WRITES = {
    "booking renamed by staff": Write(lambda w: w.bookings, _rename_booking, shows="Porto weekend"),
    "booking renamed, its page": Write(lambda w: w.booking_page, _rename_booking, shows="Porto weekend"),
    "booking renamed, the home": Write(lambda w: w.home, _rename_booking, shows="Porto weekend"),
    "attendee added to a booking": Write(lambda w: w.bookings, _add_attendee_booking, shows="Porto weekend"),
    "attendee's email changed": Write(lambda w: w.bookings, _change_attendee_email, hides="Lisbon weekend"),
    "attendee removed": Write(lambda w: w.bookings, _remove_attendee, hides="Lisbon weekend"),
    "booking deleted": Write(lambda w: w.home, _delete_booking, hides="Lisbon weekend"),
    "add-on added by staff": Write(lambda w: w.booking_page, _staff_add_on, shows="Porto wine"),
    "add-on booked by the customer": Write(lambda w: w.booking_page, _customer_books_add_on, shows="Porto wine"),
    "add-on cancelled by the customer": Write(
        lambda w: w.booking_page, _customer_cancels_add_on, hides="You booked it", setup=_booked_by_customer
    ),
    "new add-on offered": Write(lambda w: w.booking_page, _new_add_on_offered, shows="Porto wine"),
    "booking settings changed": Write(
        lambda w: w.booking_page, _booking_settings, shows="could be cancelled online", setup=_booked_by_customer
    ),
    "document uploaded": Write(lambda w: w.booking_page, _upload_document, shows="porto.pdf"),
    "customer reply on a ticket": Write(lambda w: w.ticket_page, _customer_replies_to_ticket, shows="Porto is where"),
    "attachment on a ticket": Write(lambda w: w.ticket_page, _customer_attaches_to_ticket, shows="porto.pdf"),
    "staff reply on a ticket": Write(lambda w: w.ticket_page, _staff_replies_to_ticket, shows="Porto is where"),
    "ticket status, the ticket list": Write(
        lambda w: w.tickets, _staff_changes_ticket_status, shows="badge-status-solved"
    ),
    "ticket status changed by staff": Write(lambda w: w.ticket_page, _staff_changes_ticket_status, shows="Solved"),
    "ticket marked solved by the customer": Write(
        lambda w: w.tickets, _customer_marks_solved, shows="badge-status-solved"
    ),
    "ticket opened by the customer": Write(lambda w: w.tickets, _customer_opens_ticket, shows="Porto question"),
    "ticket opened, the home": Write(lambda w: w.home, _customer_opens_ticket, shows="Porto question"),
    "ticket moved to another requester": Write(
        lambda w: w.tickets, _ticket_moved_to_another_requester, hides="Lost luggage"
    ),
    "company ticket created": Write(lambda w: w.tickets, _company_ticket_appears, shows="Porto freight"),
    "customer joins a company": Write(lambda w: w.tickets, _joins_a_company, shows="Porto freight"),
    "ticket settings opened to companies": Write(
        lambda w: w.tickets, _ticket_settings_open_company_tickets, shows="Porto freight"
    ),
    "customer reply in a conversation": Write(
        lambda w: w.conversation_page, _customer_replies_to_conversation, shows="Porto is where"
    ),
    "staff reply in a conversation": Write(
        lambda w: w.conversation_page, _staff_replies_to_conversation, shows="Porto desk"
    ),
    "conversation closed, the list": Write(lambda w: w.conversations, _staff_closes_conversation, shows="badge-muted"),
    "message redacted": Write(lambda w: w.conversation_page, _staff_redacts_a_message, hides="window seat"),
    "conversation closed": Write(lambda w: w.conversation_page, _staff_closes_conversation, shows="Closed"),
    "reopening turned off": Write(lambda w: w.conversation_page, _reopening_turned_off, hides="reply-form"),
    "displayed attribute added": Write(lambda w: w.conversation_page, _displayed_attribute_added, shows="Port of call"),
    "portal renamed": Write(lambda w: w.tickets, _portal_renamed, shows="Porto Travel"),
    "organisation branding": Write(
        lambda w: w.home, _organisation_colour, shows=Portal(accent_colour="#0b5d1e").theme.version
    ),
    "customer renamed": Write(lambda w: w.home, _customer_renamed, shows="Porto Customer"),
}


def _deactivate(customer: Customer) -> None:
    customer.is_active = False
    customer.save()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_makes_the_next_view_fresh(write, world, sign_in):
    write.setup(world)
    client = sign_in(world.customer)
    page = write.page(world)
    before = client.get(page).content.decode()
    again = client.get(page)
    assert again.context is None, "the repeat view was not served from the cache"
    assert again.content.decode().count("Lost luggage") == before.count("Lost luggage")
    if write.shows:
        assert write.shows not in before

    write.make(world, client)
    client.cookies.pop("messages", None)
    client.get(page)  # a page a flash message was shown on is never stored
    after = client.get(page).content.decode()

    if write.shows:
        assert write.shows in after
    if write.hides:
        assert write.hides in before
        assert write.hides not in after


def test_sign_out_ends_this_session_and_leaves_nothing_cached_for_the_others(world, sign_in):
    client, other_browser = sign_in(world.customer), sign_in(world.customer)
    for browser in (client, other_browser):
        browser.get(world.ticket_page)
        assert browser.get(world.ticket_page).context is None

    client.post(f"/{world.customer.organisation.slug}/sign-out/")

    assert client.get(world.ticket_page).status_code == 302
    assert other_browser.get(world.ticket_page).context is not None  # rendered again, not served from the cache


@pytest.mark.parametrize(
    "end_session",
    [
        pytest.param(
            lambda w, c: access_links_revoke(customer=w.customer, staff_user=w.staff_user), id="links revoked"
        ),
        pytest.param(
            lambda w, c: customer_password_reset_by_staff(
                origin=None, customer=w.customer, password="a new long password 2026!", staff_user=w.staff_user
            ),
            id="password set by staff",
        ),
        pytest.param(lambda w, c: _deactivate(w.customer), id="customer deactivated by staff"),
    ],
)
def test_nothing_cached_is_served_once_the_session_has_ended(end_session, world, sign_in):
    client = sign_in(world.customer)
    other_browser = sign_in(world.customer)
    for browser in (client, other_browser):
        browser.get(world.ticket_page)
        assert browser.get(world.ticket_page).context is None  # served from the cache

    end_session(world, client)

    for browser in (client, other_browser):
        response = browser.get(world.ticket_page)
        assert response.status_code == 302 and "/sign-in/" in response["Location"]


def test_one_customers_page_is_never_served_to_another(world, sign_in, other_organisation):
    """Same path, same ids where possible: each customer gets their own page, across organisations too."""
    neighbour = CustomerFactory(organisation=world.customer.organisation, email="neighbour@example.com")
    TicketFactory(organisation=neighbour.organisation, requester=neighbour, subject="Neighbour question")
    abroad = CustomerFactory(organisation=other_organisation, email=world.customer.email)
    TicketFactory(organisation=other_organisation, requester=abroad, subject="Abroad question")
    mine = sign_in(world.customer)
    mine.get(world.tickets)
    assert "Lost luggage" in mine.get(world.tickets).content.decode()

    theirs = sign_in(neighbour).get(world.tickets).content.decode()
    assert "Neighbour question" in theirs and "Lost luggage" not in theirs
    # A session of another organisation asking for this organisation's page is sent to sign in here.
    crossing = sign_in(abroad)
    crossing.get(f"/{other_organisation.slug}/support/")
    assert crossing.get(world.tickets).status_code == 302
    abroad_page = crossing.get(f"/{other_organisation.slug}/support/").content.decode()
    assert "Abroad question" in abroad_page and "Lost luggage" not in abroad_page


def test_a_cached_page_carries_this_requests_csrf_token_and_no_placeholder(world, sign_in):
    client = sign_in(world.customer)
    client.handler.enforce_csrf_checks = True
    client.get(world.ticket_page)
    cached = client.get(world.ticket_page)
    assert cached.context is None
    html = cached.content.decode()

    # Portal pages have no inline block (their colours are a stylesheet), so neither a nonce nor its placeholder.
    assert "nonce" not in html and "nonce-" not in cached["Content-Security-Policy"]
    assert not set(page_cache.placeholders().values()) & set(re.findall(r"pc[0-9a-f]{30}", html))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert not token.startswith("pc")
    reply = client.post(
        f"{world.ticket_page}reply/", {"body": "Posted from a cached page", "csrfmiddlewaretoken": token}
    )
    assert reply.status_code == 302
    assert "Posted from a cached page" in client.get(world.ticket_page).content.decode()


def test_a_stored_page_gets_this_requests_nonce_where_it_has_the_placeholder(rf):
    request = rf.get("/")
    ContentSecurityPolicyMiddleware(lambda request: HttpResponse()).process_request(request)
    stored = HttpResponse(f'<script nonce="{page_cache.placeholders()["csp_nonce"]}"></script>')

    html = page_cache.filled(request, stored).content.decode()

    assert html == f'<script nonce="{get_nonce(request)}"></script>'


def test_cached_pages_stay_out_of_browser_and_proxy_caches(world, sign_in):
    client = sign_in(world.customer)
    client.get(world.home)
    cached = client.get(world.home)
    assert cached.context is None
    assert "no-store" in cached["Cache-Control"] and "private" in cached["Cache-Control"]


def test_a_repeat_view_asks_the_database_nothing_with_sessions_in_the_cache(world, settings, django_assert_num_queries):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    client = Client()
    session = CachedDbSession()
    request = _SessionRequest(client)
    request.session = session
    portal_sign_in(request, world.customer, method="password")
    request.save()
    client.get(world.ticket_page)
    with django_assert_num_queries(0):
        assert "Lost luggage" in client.get(world.ticket_page).content.decode()


def test_a_repeat_view_reads_the_page_and_its_versions_in_one_round_trip(world, sign_in, monkeypatch):
    from django.core.cache import cache

    client = sign_in(world.customer)
    client.get(world.ticket_page)
    reads, inside = [], []

    def counted(name):
        read = getattr(cache, name)

        def reading(*args, **kwargs):
            if not inside:  # the local-memory cache reads get_many() key by key
                reads.append(name)
            inside.append(name)
            try:
                return read(*args, **kwargs)
            finally:
                inside.pop()

        return reading

    for name in ("get", "get_many", "add"):
        monkeypatch.setattr(cache, name, counted(name))
    assert client.get(world.ticket_page).context is None
    assert reads == ["get_many"]


def test_a_page_stored_before_a_write_is_not_served_after_it(world, sign_in):
    client = sign_in(world.customer)
    client.get(world.ticket_page)
    TicketMessageFactory(ticket=world.ticket, body="Found in Porto", from_staff=True)
    fresh = client.get(world.ticket_page)
    assert fresh.context is not None and "Found in Porto" in fresh.content.decode()
    assert client.get(world.ticket_page).context is None  # stored again, at the new version


def test_a_flash_message_is_shown_once_and_never_kept(world, sign_in):
    client = sign_in(world.customer)
    client.get(world.ticket_page)
    response = client.post(f"{world.ticket_page}reply/", {"body": "A reply"}, follow=True)
    assert "Your reply has been added" in response.content.decode()
    assert "Your reply has been added" not in client.get(world.ticket_page).content.decode()


def test_nothing_is_cached_when_the_page_cache_is_off(world, sign_in, settings):
    settings.PAGE_CACHE_ENABLED = False
    client = sign_in(world.customer)
    client.get(world.home)
    assert client.get(world.home).context is not None


def test_a_cache_that_fails_still_serves_the_page(world, sign_in, monkeypatch):
    from django.core.cache import cache

    client = sign_in(world.customer)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    response = client.get(world.ticket_page)
    assert response.status_code == 200 and "Lost luggage" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_page_read_while_a_write_was_uncommitted_is_stale_once_it_commits(customer, sign_in):
    """The bump after commit: a reader that stored the old page during the writer's transaction loses it."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite lets no one read a table while another connection writes it: there is no such reader")
    ticket = TicketFactory(organisation=customer.organisation, requester=customer, subject="Lost luggage")
    page = f"/{customer.organisation.slug}/support/{ticket.number}/"
    client = sign_in(customer)
    written, read = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                TicketMessageFactory(ticket=ticket, body="Found in Porto", from_staff=True)
                written.set()
                read.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    written.wait(10)
    during = client.get(page).content.decode()  # stored, from rows the writer has not committed
    read.set()
    thread.join(10)

    assert "Found in Porto" not in during
    assert "Found in Porto" in client.get(page).content.decode()


def test_a_booking_opened_by_its_link_alone_is_not_kept_for_a_customer_who_does_not_attend_it(world, sign_in):
    organisation = world.customer.organisation
    organisation.requires_sign_in = False
    organisation.save()
    outsider = CustomerFactory(organisation=organisation, email="outsider@example.com")
    client = sign_in(outsider)
    assert "Lisbon weekend" in client.get(world.booking_page).content.decode()

    _rename_booking(world, client)  # makes stale the pages of its attendees only

    assert "Porto weekend" in client.get(world.booking_page).content.decode()


def test_with_the_page_cache_off_a_write_leaves_the_cache_alone(settings, organisation, monkeypatch):
    settings.PAGE_CACHE_ENABLED = False
    touched = []
    monkeypatch.setattr(page_cache.cache, "delete_many", lambda keys: touched.append(keys))

    with transaction.atomic():
        organisation.name = "Renamed"
        organisation.save()

    assert touched == []


@pytest.mark.django_db(transaction=True)
def test_a_database_cache_that_fails_leaves_the_write_it_is_bumped_in_whole(settings):
    # The database cache shares the write's connection: its failure (here, no table) must not abort the write.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "no_such"}}
    from tests.factories import OrganisationFactory

    with transaction.atomic():
        organisation = OrganisationFactory()  # its save makes its primary portal in the same transaction
        organisation.portals.update(name="Still here")

    assert Portal.objects.get(organisation=organisation).name == "Still here"


def test_at_the_organisations_midnight_a_booking_ending_that_day_moves_under_past_at_once(customer, sign_in):
    """Kolkata is 5:30 ahead of UTC: its midnight falls at 18:30 UTC, a quarter of an hour like every zone's."""
    customer.organisation.time_zone = "Asia/Kolkata"
    customer.organisation.save()
    today = datetime.date(2027, 3, 1)
    booking = BookingFactory(organisation=customer.organisation, title="Goa day trip", starts_on=today, ends_on=today)
    AttendeeFactory(booking=booking, email=customer.email)
    bookings_page = f"/{customer.organisation.slug}/bookings/"

    def upcoming_titles():
        page = client.get(bookings_page).content.decode()
        return page.split('id="past-heading"')[0].count("Goa day trip")

    with time_machine.travel(datetime.datetime(2027, 3, 1, 18, 29, tzinfo=datetime.UTC), tick=False):
        client = sign_in(customer)
        assert upcoming_titles() == 1
        assert client.get(bookings_page).context is None  # kept, and served from the cache
    with time_machine.travel(datetime.datetime(2027, 3, 1, 18, 31, tzinfo=datetime.UTC), tick=False):
        assert upcoming_titles() == 0  # 2 March in Kolkata: over, whatever the cache kept two minutes ago
