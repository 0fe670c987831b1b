"""Browser tests: Debian's chromium driven by Playwright against the live test server.

Every page a test visits is checked with axe-core for WCAG 2.2 A and AA, and screenshots
go to test-artifacts/screenshots/ to be looked at.
"""

import os
import shutil
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import connections

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}

_E2E_TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's pytestmark marks nothing (pytest applies it only in test modules), so `-m "not e2e"`
    # needs the marker put on here, before pytest's own hook deselects by it.
    for item in items:
        if item.path.is_relative_to(_E2E_TESTS):
            item.add_marker(pytest.mark.e2e)


def _require_browser():
    if os.path.exists(CHROMIUM) or shutil.which(CHROMIUM):
        return
    message = f"Browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-quic",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        open_context = browser.new_context

        def new_watched_context(**options):
            context = open_context(**options)
            context.on("console", _record_csp_violation)
            return context

        # Every context, the tests' own staff browsers too, reports what the Content-Security-Policy blocked.
        browser.new_context = new_watched_context
        yield browser
        # While Playwright's event loop runs in this thread, asgiref takes it for async code and Django keeps the
        # database connections opened meanwhile (by any test after the first browser test) apart from the thread's
        # own: closed here, while that is still so, or the test database could not be dropped at the end.
        connections.close_all()
        browser.close()


csp_violations: list[str] = []


def _record_csp_violation(message) -> None:
    # Chromium reports each inline block or resource the policy refused as a console error naming it.
    if "Content Security Policy" in message.text:
        csp_violations.append(f"{message.location.get('url')}: {message.text}")


@pytest.fixture(autouse=True)
def _fail_on_csp_violations():
    csp_violations.clear()
    yield
    if csp_violations:
        pytest.fail("The Content-Security-Policy blocked:\n" + "\n".join(csp_violations), pytrace=False)


@pytest.fixture
def e2e_settings(settings, live_server):
    # The live server speaks plain HTTP; links in emails must point at it.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SITE_URL = live_server.url
    return settings


@pytest.fixture(params=["desktop", "phone"])
def viewport(request):
    return request.param


@pytest.fixture
def page(browser, e2e_settings, viewport):
    context = browser.new_context(viewport=PHONE if viewport == "phone" else DESKTOP, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.viewport_name = viewport
    yield page
    context.close()


_axe = Axe()


def check_page(page, name: str) -> None:
    """Screenshot the page, then fail on any WCAG 2.2 A/AA violation axe-core finds."""
    from playwright.sync_api import Error as PlaywrightError

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{getattr(page, 'viewport_name', 'desktop')}.png"
    try:
        page.screenshot(path=path, full_page=True)
    except PlaywrightError as error:
        # Now and then Chromium refuses one capture of a loaded page, and takes it when asked again (seen once in
        # seven runs of the suite on two workers, the machine busy).
        if "Unable to capture screenshot" not in str(error):
            raise
        page.screenshot(path=path, full_page=True)
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    assert results.violations_count == 0, f"Accessibility violations on {name}:\n{results.generate_report()}"
