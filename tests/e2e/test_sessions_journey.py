"""A customer signed in on two devices sees both, then signs out everywhere from one: the other is signed out."""

from tests.e2e.conftest import PHONE, check_page
from tests.factories import CUSTOMER_PASSWORD

PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Mobile Safari/537.36"
)


def sign_in(page, base, customer) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_sign_out_everywhere_signs_the_other_browser_out(page, browser, live_server, customer):
    base = f"{live_server.url}/{customer.organisation.slug}"
    phone_context = browser.new_context(viewport=PHONE, locale="en-GB", user_agent=PHONE_AGENT)
    try:
        phone = phone_context.new_page()
        sign_in(phone, base, customer)
        sign_in(page, base, customer)
        phone.goto(f"{base}/support/")  # kept in the page cache from here on
        phone.goto(f"{base}/support/")

        page.goto(f"{base}/profile/access/")
        assert "Signed in with email and password" in page.locator("main").inner_text()
        assert "Chrome on Android" in page.locator("main").inner_text()
        check_page(page, "recent-access")
        page.get_by_role("link", name="See your sessions").click()
        page.wait_for_url(f"{base}/profile/access/sessions/")
        sessions = page.locator(".session-row")
        assert sessions.count() == 2
        assert "This browser" in sessions.filter(has_not_text="Chrome on Android").inner_text()
        assert sessions.filter(has_text="Chrome on Android").get_by_role("button", name="End").is_visible()
        check_page(page, "your-sessions")

        page.get_by_role("button", name="Sign out everywhere and withdraw my links").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/profile/access/sessions/")
        assert "Signed out everywhere else (1 other session)" in page.locator(".messages").inner_text()
        assert page.locator(".session-row").count() == 1
        check_page(page, "signed-out-everywhere")

        phone.goto(f"{base}/support/")
        assert phone.url.startswith(f"{base}/sign-in/")
        page.goto(f"{base}/support/")
        assert page.url == f"{base}/support/"
    finally:
        phone_context.close()
