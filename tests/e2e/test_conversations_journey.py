"""A customer signs in through the business's own login, reads and continues conversations; staff reply in admin.

Runs in a real browser at desktop and phone widths, with screenshots and axe checks of every portal page.
"""

import html
import io
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from conversations.demo import seed_demo
from conversations.models import Attachment, Conversation
from tests.conftest import link_in
from tests.e2e.conftest import SCREENSHOTS, check_page
from tests.factories import OrganisationFactory, StaffUserFactory
from tests.smtp import text_of

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
STAFF_PASSWORD = "staff-password-for-tests"


class BusinessLogin:
    """The business's own login page, served by the test on loopback. It signs the JWT as a business would."""

    def __init__(self, *, secret: str, kid: str):
        business = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                address = urlsplit(self.path)
                if address.path != "/login":
                    return self._reply(404, "")  # the browser's favicon request, say
                return_to = parse_qs(address.query).get("return_to", [""])[0]
                business.seen_return_to.append(return_to)
                self._reply(200, business.page(return_to))

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                claims = {"email": form["email"][0], "iat": int(time.time())}
                token = jwt.encode(claims, business.secret, algorithm="HS256", headers={"kid": business.kid})
                self.send_response(303)
                self.send_header("Location", f"{form['return_to'][0]}?{urlencode({'externalToken': token})}")
                self.end_headers()

            def _reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.secret, self.kid = secret, kid
        self.seen_return_to: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/login"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def page(return_to: str) -> str:
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Voyages Lumière account</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem;">
<main><h1>Log in to your Voyages Lumière account</h1>
<form method="post"><input type="hidden" name="return_to" value="{html.escape(return_to)}">
<p><label for="email">Account email</label><br><input id="email" name="email" type="email" autocomplete="email"></p>
<p><label for="password">Account password</label><br><input id="password" name="password" type="password"></p>
<p><button type="submit">Log in</button></p></form></main></body></html>"""

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def organisation(db):
    organisation = OrganisationFactory(
        name="Voyages Lumière", display_name="Voyages Lumière", support_email="help@vl.example"
    )
    organisation.portals.update(accent_colour="#0f5c8a")
    return organisation


@pytest.fixture
def business_login(organisation):
    organisation.rotate_external_sign_on_secret()
    with BusinessLogin(
        secret=organisation.external_sign_on_secret, kid=organisation.external_sign_on_secret_id
    ) as site:
        organisation.external_sign_on_enabled = True
        organisation.external_sign_on_url = site.url
        organisation.save()
        yield site


def _screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{page.viewport_name}.png", full_page=True)


def test_customer_signs_in_through_the_business_replies_with_files_reopens_and_gets_staff_replies(
    page, browser, live_server, smtp_server, organisation, business_login, viewport
):
    seed_demo(organisation=organisation, stdout=io.StringIO())
    slug = organisation.slug
    portal = f"{live_server.url}/{slug}"

    # Sign in: the portal sends the browser to the business's login page, which sends it back signed.
    page.goto(f"{portal}/sign-in/")
    check_page(page, "conversations-1-sign-in")
    page.get_by_role("link", name="Sign in with Voyages Lumière").click()
    page.wait_for_url(re.compile(r"^" + re.escape(business_login.url)))
    [return_to] = business_login.seen_return_to
    assert return_to.startswith(f"{portal}/sign-in/external/return/")
    _screenshot(page, "conversations-2-business-login")
    page.get_by_label("Account email").fill("alice@example.com")
    page.get_by_label("Account password").fill("the business checks this, not the portal")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{portal}/conversations/")
    assert "alice@example.com" in page.locator("header").inner_text()
    titles = page.locator(".conversation-list-title").all_inner_texts()
    assert titles[:3] == [
        "Suitcase missing after the Lisbon flight",
        "Vegetarian meals on the food tour",
        "Seat upgrade on the Alps trip",
    ]
    assert "Changing my travel dates" not in page.content()  # Bob's
    check_page(page, "conversations-3-my-conversations")

    # The conversation: details, configured attributes, the timeline without notes, the redaction shown.
    page.get_by_role("link", name="Suitcase missing after the Lisbon flight").click()
    page.wait_for_url(re.compile(rf"/{slug}/conversations/\d+/$"))
    main = page.locator("main").inner_text()
    assert "Booking" in main and "LIS-2041" in main and "Loyalty tier" in main and "Gold" in main
    assert "baggage" not in main and "chase again tomorrow" not in main and "4111" not in main
    assert "This message was redacted." in main
    check_page(page, "conversations-4-conversation")
    conversation_url = page.url

    # A refused file: named, with its rule, and nothing sent; the text stays.
    page.get_by_label("Your message").fill("Here is the airline's report.")
    page.get_by_label("Attach files").set_input_files(
        files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": EXE_BYTES}]
    )
    page.get_by_role("button", name="Send message", exact=True).click()
    assert "“report.pdf” is not a file we accept" in page.locator("main").inner_text()
    assert page.get_by_label("Your message").input_value() == "Here is the airline's report."
    check_page(page, "conversations-5-refused-file")

    # The reply with two attachments.
    page.get_by_label("Attach files").set_input_files(
        files=[
            {"name": "airline-report.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            {"name": "bag-tag.png", "mimeType": "image/png", "buffer": PNG_BYTES},
        ]
    )
    page.get_by_role("button", name="Send message", exact=True).click()
    page.wait_for_url(conversation_url)
    assert "Message sent." in page.locator(".messages").inner_text()
    last_message = page.locator(".timeline-item").last
    assert "Here is the airline's report." in last_message.inner_text()
    assert "Portal" in last_message.inner_text()
    with page.expect_download() as download:
        last_message.get_by_role("link", name="airline-report.pdf").click()
    assert download.value.suggested_filename == "airline-report.pdf"
    assert set(Attachment.objects.values_list("original_name", flat=True)) == {"airline-report.pdf", "bag-tag.png"}
    check_page(page, "conversations-6-replied-with-files")

    # Reopen a closed conversation by writing in it.
    page.get_by_role("link", name="My conversations").click()
    page.get_by_role("link", name="Seat upgrade on the Alps trip").click()
    assert "Reopen this conversation" in page.locator("main").inner_text()
    check_page(page, "conversations-7-closed")
    page.get_by_label("Your message").fill("Could we do the same for the return in July? 🙏")
    page.get_by_role("button", name="Send and reopen").click()
    assert "The conversation is open again." in page.locator(".messages").inner_text()
    assert "Open" in page.locator("dl.details").inner_text()
    assert Conversation.objects.get(subject="Seat upgrade on the Alps trip").status == Conversation.Status.OPEN
    check_page(page, "conversations-8-reopened")
    page.get_by_role("link", name="Home").click()
    recent = page.get_by_role("region", name="Conversations").inner_text()
    assert recent.index("Seat upgrade on the Alps trip") < recent.index("Suitcase missing after the Lisbon flight")
    check_page(page, "conversations-8b-home")

    # Staff reply in the admin; the customer's email arrives at a real SMTP server.
    staff = StaffUserFactory(first_name="Camille", last_name="Durand")
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    admin = staff_context.new_page()
    admin.viewport_name = viewport
    conversation = Conversation.objects.get(subject="Suitcase missing after the Lisbon flight")
    admin.goto(f"{live_server.url}/admin/conversations/conversation/{conversation.pk}/change/")
    admin.get_by_label("Username").fill(staff.username)
    admin.get_by_label("Password").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.get_by_label("Write a reply").fill("Your suitcase is at the hotel reception.\nEnjoy Lisbon!")
    _screenshot(admin, "conversations-9-admin-reply")
    admin.get_by_role("button", name="Save and continue editing").click()
    assert "Reply sent to alice@example.com." in admin.locator(".messagelist").inner_text()
    staff_context.close()

    # Sent on commit, before the admin's response: the email is there already.
    body = text_of(smtp_server.messages_to("alice@example.com")[-1]).replace("\r\n", "\n")
    assert "Your suitcase is at the hotel reception.\nEnjoy Lisbon!" in body
    page.goto(link_in(body, f"/conversations/{conversation.pk}/"))
    assert "Your suitcase is at the hotel reception." in page.locator(".timeline-item").last.inner_text()
    assert "Camille Durand" in page.locator(".timeline-item").last.inner_text()
    check_page(page, "conversations-10-staff-reply")


def test_an_expired_sign_on_shows_a_clear_page_with_a_way_to_try_again(page, live_server, organisation, business_login):
    token = jwt.encode(
        {"email": "alice@example.com", "iat": 0}, organisation.external_sign_on_secret, algorithm="HS256"
    )

    page.goto(f"{live_server.url}/{organisation.slug}/sign-in/external/?{urlencode({'externalToken': token})}")

    assert "We couldn't sign you in" in page.locator("h1").inner_text()
    check_page(page, "conversations-sign-on-refused")
    page.get_by_role("link", name="Try again").click()
    page.wait_for_url(re.compile(r"^" + re.escape(business_login.url)))
