"""The browser fixtures themselves: a page the Content-Security-Policy blocks is noticed."""

from tests.e2e import conftest


def test_an_inline_style_the_policy_refuses_is_recorded(page, live_server):
    blocked = f"{live_server.url}/csp-check"
    page.route(
        blocked,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "style-src 'self'"},
            body="<!doctype html><title>check</title><style>body { color: red }</style><p>check</p>",
        ),
    )
    page.goto(blocked)
    page.get_by_text("check").last.wait_for()
    assert any("Content Security Policy" in violation for violation in conftest.csp_violations)
    conftest.csp_violations.clear()  # seen: this test's own teardown must not fail on it
