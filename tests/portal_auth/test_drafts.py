"""A form posted after the portal session ended: its text waits for the customer, who finds it again after sign-in."""

import html as html_module
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from bookings.models import Booking, BookingAddOn, BookingDocument
from conversations.forms import MAX_REPLY_CODE_POINTS
from conversations.models import Message
from portal_auth.models import Portal
from tests.bookings.factories import AddOnFactory, AttendeeFactory, BookingFactory, ServiceFactory, open_every_day
from tests.conftest import link_in
from tests.conversations.factories import ConversationFactory
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket, TicketMessage

TYPED = "My bag is blue, with a red ribbon on the handle — flight TP 1234."
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def browser() -> Client:
    """A browser as the portal meets it: CSRF enforced, and an Origin header on every POST."""
    return Client(enforce_csrf_checks=True, HTTP_ORIGIN="http://testserver")


def sign_in_by_form(client: Client, customer, next_path: str = ""):
    """Sign in through the sign-in page, as a customer does."""
    url = f"/{customer.organisation.slug}/sign-in/"
    token = csrf_token(client.get(url).content.decode())
    data = {"email": customer.email, "password": CUSTOMER_PASSWORD, "next": next_path, "csrfmiddlewaretoken": token}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    return response


def after_session_lifetime():
    return time_machine.travel(timezone.now() + timedelta(days=1, minutes=5), tick=False)


class Form:
    """A customer form: the page it is on, where it posts, what was typed, how to tell nothing was saved."""

    def __init__(self, page, action, data, saved, shown=TYPED):
        self.page, self.action, self.data, self.saved, self.shown = page, action, data, saved, shown


def ticket_reply(customer):
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    page = f"/{customer.organisation.slug}/support/{ticket.number}/"
    return Form(page, f"{page}reply/", {"body": TYPED}, lambda: TicketMessage.objects.filter(ticket=ticket).exists())


def new_ticket(customer):
    page = f"/{customer.organisation.slug}/support/new/"
    data = {"subject": "Lost luggage", "priority": "high", "body": TYPED}
    return Form(page, page, data, lambda: Ticket.objects.filter(subject="Lost luggage").exists())


def conversation_reply(customer):
    conversation = ConversationFactory(customer=customer)
    page = f"/{customer.organisation.slug}/conversations/{conversation.pk}/"
    return Form(page, page, {"body": TYPED}, lambda: Message.objects.filter(body=TYPED).exists())


def longest_conversation_reply(customer):
    """As long as the form accepts, in emoji of three code points each: a session keeps all of it."""
    conversation = ConversationFactory(customer=customer)
    page = f"/{customer.organisation.slug}/conversations/{conversation.pk}/"
    longest = "\U0001f469\u200d\U0001f4bb" * (MAX_REPLY_CODE_POINTS // 3)
    saved = Message.objects.filter(conversation=conversation).exists
    return Form(page, page, {"body": longest}, saved, shown=longest)


def _booking(customer):
    booking = BookingFactory(organisation=customer.organisation)
    AttendeeFactory(booking=booking, email=customer.email)
    return booking, f"/{customer.organisation.slug}/bookings/{booking.reference}/"


def document_upload(customer):
    booking, page = _booking(customer)
    data = {"file": SimpleUploadedFile("passport.pdf", PDF_BYTES, content_type="application/pdf")}
    saved = BookingDocument.objects.filter(booking=booking).exists
    return Form(page, f"{page}documents/", data, saved, shown="Attach your files again")


def add_on_booking(customer):
    booking, page = _booking(customer)
    add_on = AddOnFactory(organisation=customer.organisation, name="Airport transfer")
    saved = BookingAddOn.objects.filter(booking=booking).exists
    check_page = f"{page}add-ons/{add_on.pk}/book/"
    data = {"price": str(add_on.price), "currency": add_on.currency}
    return Form(check_page, check_page, data, saved, shown="Nothing was booked.")


def service_booking_details(customer):
    service = ServiceFactory(organisation=customer.organisation, capacity=12)
    open_every_day(service.resource)
    day = timezone.localdate() + timedelta(days=3)
    page = f"/{customer.organisation.slug}/bookings/book/{service.pk}/{day}/1000/"
    saved = Booking.objects.filter(service=service).exists
    return Form(page, page, {"places": "3", "note": TYPED}, saved)


FORMS = [
    ticket_reply,
    new_ticket,
    conversation_reply,
    longest_conversation_reply,
    document_upload,
    add_on_booking,
    service_booking_details,
]


@pytest.mark.parametrize("make_form", FORMS, ids=lambda make_form: make_form.__name__)
def test_what_was_typed_after_the_session_ended_is_in_the_form_after_signing_in(customer, make_form):
    form = make_form(customer)
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(form.page).content.decode())

    with after_session_lifetime():
        # The CSRF cookie outlives the session: the form's token still passes, and the text is kept.
        response = client.post(form.action, {**form.data, "csrfmiddlewaretoken": token})
        assert response.status_code == 302
        assert response["Location"].startswith(f"/{customer.organisation.slug}/sign-in/?next=")
        assert not form.saved()
        sign_in_page = html_module.unescape(client.get(response["Location"]).content.decode())
        assert "Sign in and what you typed will be back in the form." in sign_in_page

        back = sign_in_by_form(client, customer, next_path=form.action)["Location"]
        response = client.get(back, follow=True)

    assert response.status_code == 200
    assert response.request["PATH_INFO"] == form.page
    page = html_module.unescape(response.content.decode())
    assert form.shown in page
    assert "Your session had ended" in page
    assert not form.saved()
    # Restored once: the next visit shows an empty form.
    with after_session_lifetime():
        again = html_module.unescape(client.get(form.page).content.decode())
    assert "Your session had ended" not in again and TYPED not in again


def test_a_customer_who_asks_for_a_link_instead_lands_on_the_form_with_their_text(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    form = ticket_reply(customer)
    slug = customer.organisation.slug
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(form.page).content.decode())

    with after_session_lifetime():
        sent = client.post(form.action, {**form.data, "csrfmiddlewaretoken": token})
        sign_in_page = html_module.unescape(client.get(sent["Location"]).content.decode())
        email_me_a_link = re.search(r'href="([^"]*/link/request/[^"]*)">Email me a link<', sign_in_page).group(1)
        request_page = html_module.unescape(client.get(email_me_a_link).content.decode())
        next_path = re.search(r'name="next" value="([^"]+)"', request_page).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                email_me_a_link,
                {"email": customer.email, "next": next_path, "csrfmiddlewaretoken": csrf_token(request_page)},
            )
        link = link_in(mailoutbox[-1].body, f"/{slug}/link/")
        landing = client.get(link.removeprefix(settings.SITE_URL))["Location"]
        confirm = client.get(landing).content.decode()
        proof = re.search(r'name="link" value="([^"]+)"', confirm).group(1)
        opened = client.post(landing, {"link": proof, "csrfmiddlewaretoken": csrf_token(confirm)})
        response = client.get(opened["Location"], follow=True)

    assert response.request["PATH_INFO"] == form.page
    assert TYPED in html_module.unescape(response.content.decode())
    assert not form.saved()


def test_files_are_not_kept_and_the_restored_form_says_to_attach_them_again(customer):
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    page = f"/{customer.organisation.slug}/support/{ticket.number}/"
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(page).content.decode())
    upload = SimpleUploadedFile("receipt.pdf", PDF_BYTES, content_type="application/pdf")

    with after_session_lifetime():
        client.post(f"{page}reply/", {"body": TYPED, "attachments": upload, "csrfmiddlewaretoken": token})
        sign_in_by_form(client, customer, next_path=f"{page}reply/")
        restored = html_module.unescape(client.get(page).content.decode())

    assert TYPED in restored and "Attach your files again" in restored
    assert "receipt.pdf" not in restored


def test_a_draft_is_restored_only_to_the_customer_the_ended_session_named(customer, organisation):
    """The session still names its customer (it ended because their password changed): only they get the text."""
    other = CustomerFactory(organisation=organisation, with_password=True, email="someone.else@example.com")
    page = f"/{organisation.slug}/support/new/"
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(page).content.decode())
    customer.set_password("another long passphrase, changed elsewhere")
    customer.save()

    client.post(page, {"subject": "Lost luggage", "priority": "high", "body": TYPED, "csrfmiddlewaretoken": token})
    sign_in_by_form(client, other, next_path=page)
    seen_by_other = html_module.unescape(client.get(page).content.decode())
    customer.set_password(CUSTOMER_PASSWORD)
    customer.save()
    sign_in_by_form(client, customer, next_path=page)
    seen_by_customer = html_module.unescape(client.get(page).content.decode())

    assert TYPED not in seen_by_other and "Lost luggage" not in seen_by_other
    assert TYPED in seen_by_customer and 'value="Lost luggage"' in seen_by_customer


def test_a_draft_from_a_session_gone_altogether_reaches_only_who_may_see_its_page(customer, organisation):
    """No session left to say who typed it: whoever signs in next gets it, through the page's own access check."""
    stranger = CustomerFactory(organisation=organisation, with_password=True, email="stranger@example.com")
    ticket = TicketFactory(organisation=organisation, requester=customer)
    page = f"/{organisation.slug}/support/{ticket.number}/"
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(page).content.decode())

    with after_session_lifetime():
        client.post(f"{page}reply/", {"body": TYPED, "csrfmiddlewaretoken": token})
        sign_in_by_form(client, stranger)
        assert client.get(page).status_code == 404  # not theirs: no page, no draft
        sign_in_by_form(client, customer)
        restored = html_module.unescape(client.get(page).content.decode())

    assert TYPED in restored


def test_drafts_expire_after_a_day(customer):
    page = f"/{customer.organisation.slug}/support/new/"
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(page).content.decode())
    with after_session_lifetime():
        client.post(page, {"subject": "Lost luggage", "priority": "high", "body": TYPED, "csrfmiddlewaretoken": token})
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=10), tick=False):
        sign_in_by_form(client, customer)
        page_html = html_module.unescape(client.get(page).content.decode())
        session = client.session
    assert TYPED not in page_html and "Your session had ended" not in page_html
    assert not any(key.endswith("drafts") for key in session.keys())


@pytest.mark.parametrize("portal", ["primary", "another portal"])
def test_a_form_refused_for_an_outdated_csrf_token_keeps_its_text(customer, portal):
    """The session ended, the customer signed in again in another tab (a new CSRF token), then sent the old tab.

    On another portal of the organisation, at an address of its own, the draft is the organisation's all the same.
    """
    slug = customer.organisation.slug
    if portal == "another portal":
        slug = Portal.objects.create(organisation=customer.organisation, slug="lumiere-events", name="Events").slug
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    page = f"/{slug}/support/{ticket.number}/"
    client = browser()
    sign_in_by_form(client, customer)
    old_token = csrf_token(client.get(page).content.decode())

    with after_session_lifetime():
        sign_in_by_form(client, customer)
        response = client.post(f"{page}reply/", {"body": TYPED, "csrfmiddlewaretoken": old_token})
        assert (response.status_code, response["Location"]) == (302, f"{page}reply/")
        restored = html_module.unescape(client.get(response["Location"], follow=True).content.decode())

    assert TYPED in restored and "Your session had ended" in restored
    assert not TicketMessage.objects.exists()


@pytest.mark.parametrize("origin", [{"HTTP_ORIGIN": "https://elsewhere.example"}, {}], ids=["other site", "no origin"])
def test_a_post_refused_by_csrf_from_elsewhere_plants_no_draft(customer, origin):
    page = f"/{customer.organisation.slug}/support/new/"
    client = Client(enforce_csrf_checks=True)
    data = {"subject": "Planted", "priority": "high", "body": "Text chosen by another site"}

    response = client.post(page, data, **origin)

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    sign_in_by_form(client, customer)
    assert "another site" not in client.get(page).content.decode()


def test_a_draft_holds_no_csrf_token_or_password(customer):
    page = f"/{customer.organisation.slug}/support/new/"
    client = browser()
    client.get(f"/{customer.organisation.slug}/sign-in/")
    token = client.cookies["csrftoken"].value
    data = {"subject": "Hello", "priority": "high", "body": TYPED, "password": "x" * 20, "csrfmiddlewaretoken": token}

    client.post(page, data)

    from portal_auth.drafts import DRAFTS_SESSION_KEY

    [draft] = client.session[DRAFTS_SESSION_KEY]
    assert set(draft["fields"]) == {"subject", "priority", "body"}


def test_a_post_too_long_for_any_form_is_not_kept(organisation):
    page = f"/{organisation.slug}/support/new/"
    client = browser()
    client.get(f"/{organisation.slug}/sign-in/")
    data = {"subject": "Hello", "priority": "high", "body": "x" * 30_000}

    response = client.post(page, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert response.status_code == 302
    sign_in_page = html_module.unescape(client.get(response["Location"]).content.decode())
    assert "what you typed will be back" not in sign_in_page
    assert "we couldn't keep what you typed. Go back to the form and copy it before you sign in." in sign_in_page
    assert "portal_drafts" not in client.session.keys()


def test_a_customer_whose_text_could_not_be_kept_is_told_before_signing_in(customer, settings):
    """Others behind the same address (a hotel's network) have had their share of drafts kept this hour."""
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "draft_keep": "3/h/ip"}
    form = ticket_reply(customer)
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(form.page).content.decode())

    with after_session_lifetime():
        for _ in range(3):
            stranger = browser()
            stranger.get(f"/{customer.organisation.slug}/sign-in/")
            data = {"subject": "Hello", "priority": "high", "body": "Not the customer's"}
            stranger.post(form.action, {**data, "csrfmiddlewaretoken": stranger.cookies["csrftoken"].value})
        response = client.post(form.action, {**form.data, "csrfmiddlewaretoken": token})
        sign_in_page = html_module.unescape(client.get(response["Location"]).content.decode())

    assert re.search(
        r'class="message message-error">Your session has ended, so nothing was sent, and we couldn\'t keep what you '
        r"typed\. Go back to the form and copy it before you sign in\.<",
        sign_in_page,
    )
    assert "what you typed will be back" not in sign_in_page
    assert not form.saved()


def test_an_empty_form_posted_after_the_session_ended_only_asks_for_a_sign_in(customer):
    form = ticket_reply(customer)
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(form.page).content.decode())

    with after_session_lifetime():
        response = client.post(form.action, {"body": "  ", "csrfmiddlewaretoken": token})
        sign_in_page = client.get(response["Location"]).content.decode()

    assert "Your session has ended" not in sign_in_page


def test_what_one_address_can_make_the_portal_store_as_drafts_is_limited(organisation, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "draft_keep": "3/h/ip"}
    page = f"/{organisation.slug}/support/new/"
    kept = []
    for _ in range(5):
        client = browser()  # a fresh browser each time, as a script posting without a session would be
        client.get(f"/{organisation.slug}/sign-in/")
        data = {"subject": "Hello", "priority": "high", "body": TYPED}
        client.post(page, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
        kept.append("portal_drafts" in client.session.keys())

    assert kept == [True, True, True, False, False]


def test_a_restored_profile_keeps_the_emails_the_customer_unticked(customer):
    """An unticked box is not sent: the draft's silence about it is the customer's 'no'."""
    page = f"/{customer.organisation.slug}/profile/"
    client = browser()
    sign_in_by_form(client, customer)
    html = client.get(page).content.decode()
    token = csrf_token(html)
    boxes = re.findall(r'name="(email_[a-z_]+)"[^>]*checked', html)
    assert boxes  # ticked, as every optional email starts

    with after_session_lifetime():
        client.post(page, {"name": "Ana Sousa", "csrfmiddlewaretoken": token})  # every box unticked
        sign_in_by_form(client, customer)
        restored = client.get(page).content.decode()

    assert "We kept what you typed" in restored and "Ana Sousa" in restored
    assert not re.findall(r'name="email_[a-z_]+"[^>]*checked', restored)
