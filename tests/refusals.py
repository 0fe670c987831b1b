"""One checker for a refused look: what the customer sees, and what the access log keeps."""

import re

from portal_auth.models import AccessEvent

USER_AGENT = "ProbeBrowser/1.0"
NOT_FOUND_TEXT = "We can't find that page"


def assert_look_refused(response, *, customer, what: str, status: int = 404, hidden: str = "") -> AccessEvent:
    """The page refuses (the same 404 page for someone else's thing as for a missing one) and the log says so.

    Requests are expected to carry `HTTP_USER_AGENT=USER_AGENT` from 127.0.0.1 (the test client's address).
    """
    assert response.status_code == status
    page = response.content.decode()
    if status == 404:
        assert NOT_FOUND_TEXT in page
    if hidden:
        assert hidden not in page
    event = AccessEvent.objects.filter(kind=AccessEvent.Kind.ACCESS_REFUSED).order_by("-pk").first()
    assert event is not None, "no refused look in the access log"
    assert event.get_kind_display() == "Access refused"
    assert event.reason == what
    assert event.customer_id == (customer.pk if customer else None)
    assert event.organisation_id == response.wsgi_request.organisation.pk
    assert event.ip == "127.0.0.1"
    assert event.user_agent == USER_AGENT
    return event


def refused_looks() -> int:
    return AccessEvent.objects.filter(kind="access_refused").count()


def unmasked(html: str) -> str:
    """The page without what is drawn afresh for every response: the masked CSRF token and the CSP nonce."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r' nonce="[^"]*"', "", html)


def look_alike(first, second) -> bool:
    """The same page, but for the CSRF token and CSP nonce, which are new on every response."""
    return first.status_code == second.status_code and unmasked(first.content.decode()) == unmasked(
        second.content.decode()
    )
