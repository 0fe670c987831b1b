"""The request guard: what Django would answer with a 500 (or read in full) is refused early with the portal's page."""

import io

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from portal_auth.models import AccessEvent, Customer

CSRF_TOKEN = "a" * 32


@pytest.fixture
def browser():
    """A client that checks CSRF as a browser's requests are checked, and shows a 500 as a 500."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


def assert_bad_request_page(response):
    assert response.status_code == 400
    html = response.content.decode()
    assert "We couldn't understand that request" in html
    assert 'href="/static/portal/portal.css"' in html  # the portal's own page, not Django's bare one


def test_a_form_posted_in_latin_1_gets_the_portal_400_page(browser, organisation, customer):
    body = f"email={customer.email}&password=wrong-but-long-enough&csrfmiddlewaretoken={CSRF_TOKEN}".encode("latin-1")

    response = browser.post(
        f"/{organisation.slug}/sign-in/",
        data=body,
        content_type="application/x-www-form-urlencoded; charset=ISO-8859-1",
    )

    assert_bad_request_page(response)
    assert "Please send the form in UTF-8." in response.content.decode()
    assert not AccessEvent.objects.exists()  # nothing of the form was acted on


def test_a_form_whose_charset_is_not_spelt_utf_8_is_refused_before_django_chokes_on_it(browser, organisation):
    body = f"email=someone%40example.com&csrfmiddlewaretoken={CSRF_TOKEN}".encode()

    response = browser.post(
        f"/{organisation.slug}/password/", data=body, content_type="application/x-www-form-urlencoded; charset=utf8"
    )

    assert_bad_request_page(response)


def wsgi_request(method: str, path: str, query: str = "", body: bytes = b"", **environ) -> tuple[str, dict, str]:
    """Replay a request through the WSGI application gunicorn serves, as the test Client cannot: it builds
    Django's own request, which fails on some of these before any code of the portal runs."""
    from portal_project.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        **environ,
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    # As the test Client does: the test's database connection must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content.decode()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_query_string_sent_with_a_non_text_codec_gets_the_portal_400_page(method):
    status, headers, html = wsgi_request(method, "/", "next=/somewhere/", CONTENT_TYPE="text/plain; charset=rot13")

    assert status == "400 Bad Request"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "We couldn't understand that request" in html
    assert "Please send the request in UTF-8." in html


def test_an_unknown_charset_is_refused(browser, organisation):
    response = browser.get(f"/{organisation.slug}/sign-in/?next=x", CONTENT_TYPE="text/plain; charset=klingon")

    assert_bad_request_page(response)
    assert "a character set the portal does not know" in response.content.decode()


@pytest.mark.parametrize("charset", ["unicode_escape", "raw_unicode_escape", "utf-7", "utf-16"])
def test_a_charset_that_smuggles_a_lone_surrogate_into_the_page_is_refused(browser, organisation, charset):
    surrogate = {"unicode_escape": "%5Cud800", "raw_unicode_escape": "%5Cud800", "utf-7": "%2B2AA-"}
    query = surrogate.get(charset, "%00%D8")  # utf-16 little-endian for U+D800

    response = browser.get(
        f"/{organisation.slug}/password/?email={query}", CONTENT_TYPE=f"text/plain; charset={charset}"
    )

    assert_bad_request_page(response)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "us-ascii", "iso-8859-1"])
def test_a_query_string_in_a_charset_django_decodes_plainly_is_answered(browser, organisation, charset):
    response = browser.get(
        f"/{organisation.slug}/password/?email=ana%40example.com", CONTENT_TYPE=f"text/plain; charset={charset}"
    )

    assert response.status_code == 200
    assert 'value="ana@example.com"' in response.content.decode()


def test_a_nul_in_the_query_string_gets_a_400(browser, organisation):
    response = browser.get(f"/{organisation.slug}/password/?email=ana%00%40example.com")

    assert_bad_request_page(response)


def test_a_nul_in_a_form_field_gets_a_400_and_nothing_is_written(browser, organisation, customer):
    response = browser.post(
        f"/{organisation.slug}/password/",
        {"email": customer.email + "\x00", "csrfmiddlewaretoken": CSRF_TOKEN},
    )

    assert_bad_request_page(response)
    assert Customer.objects.count() == 1
    assert not AccessEvent.objects.exists()


def test_a_nul_in_the_path_gets_a_400(browser, organisation):
    response = browser.get(f"/{organisation.slug}/bookings/AB%00CD/")

    assert_bad_request_page(response)


def test_trace_is_not_allowed_on_any_page(client, organisation):
    for path in ["/", f"/{organisation.slug}/sign-in/", "/static/portal/portal.css", "/no-such-page/"]:
        response = client.generic("TRACE", path, HTTP_COOKIE="sessionid=secret")

        assert response.status_code == 405, path
        assert response["Allow"] == "GET, HEAD, POST"
        assert b"sessionid" not in response.content


class ExplodingInput:
    """A request body that must not be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_body_declared_over_the_limit_gets_413_without_being_read(client, organisation, settings):
    settings.MAX_REQUEST_BODY = 1024 * 1024

    response = client.generic(
        "POST",
        f"/{organisation.slug}/sign-in/",
        **{
            "wsgi.input": ExplodingInput(),
            "CONTENT_LENGTH": str(200 * 1024 * 1024),
            "CONTENT_TYPE": "multipart/form-data; boundary=xyz",
        },
    )

    assert response.status_code == 413
    html = response.content.decode()
    assert "That was too large to send" in html
    assert "under 1 MB" in html


def test_a_form_with_more_text_than_a_form_holds_gets_413_saying_so(browser, organisation, customer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = f"csrfmiddlewaretoken={CSRF_TOKEN}&email={customer.email}&password={'x' * 2000}".encode()

    response = browser.post(
        f"/{organisation.slug}/sign-in/", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413
    html = response.content.decode()
    assert "The text sent at once must stay under 1 KB, files apart" in html
    assert not AccessEvent.objects.exists()


def test_the_default_limit_fits_a_ticket_with_five_largest_attachments():
    from django.conf import settings

    from tickets.forms import ATTACHMENT_MAX_SIZE, ATTACHMENTS_PER_MESSAGE

    assert settings.MAX_REQUEST_BODY >= ATTACHMENTS_PER_MESSAGE * ATTACHMENT_MAX_SIZE + 1024 * 1024
    assert settings.MAX_REQUEST_BODY <= 64 * 1024 * 1024


def test_a_body_just_within_the_limit_is_read(client, organisation, customer, settings):
    body = f"email={customer.email}&password=wrong-but-long-enough".encode()
    settings.MAX_REQUEST_BODY = len(body)

    response = client.post(
        f"/{organisation.slug}/sign-in/", data=body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN_FAILED).count() == 1


@pytest.mark.parametrize("length", ["lots", "-1"])
def test_a_content_length_that_is_not_a_length_gets_400(client, organisation, length):
    response = client.generic(
        "POST", f"/{organisation.slug}/sign-in/", **{"wsgi.input": ExplodingInput(), "CONTENT_LENGTH": length}
    )

    assert_bad_request_page(response)


def test_a_chunked_body_without_a_length_is_refused_unread(client, organisation):
    response = client.generic(
        "POST",
        f"/{organisation.slug}/sign-in/",
        **{
            "wsgi.input": ExplodingInput(),
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        },
    )

    assert response.status_code == 411
    assert "It did not say how long it was" in response.content.decode()


class VanishingInput:
    """A body whose client disconnects half-way."""

    def read(self, *args):
        raise OSError("Connection reset by peer")

    readline = read


def test_a_client_gone_mid_body_is_refused_as_before_not_with_a_500(browser, organisation):
    response = browser.generic(
        "POST",
        f"/{organisation.slug}/sign-in/",
        **{
            "wsgi.input": VanishingInput(),
            "CONTENT_LENGTH": "100",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        },
    )

    assert response.status_code == 403
