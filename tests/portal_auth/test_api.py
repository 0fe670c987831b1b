"""The identity API: keys, access, sign-in URLs, provisioning, its errors and its log."""

import datetime
import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from bookings.models import Attendee, Booking
from bookings.selectors import organisation_has_attendee_email
from portal_auth.api_keys import api_key_create, api_key_revoke
from portal_auth.models import AccessEvent, ApiCall, ApiKey, Customer, CustomerToken, hash_token
from tests.factories import CustomerFactory, OrganisationFactory
from tests.tickets.factories import CompanyFactory, TicketFactory, TicketSettingsFactory
from tickets.models import TicketSettings

SITE_URL = "https://portal.example.test"


@pytest.fixture
def organisation(db):
    return OrganisationFactory(doors=["password", "access_link", "api_redirect"])


@pytest.fixture
def api_key(organisation):
    return api_key_create(organisation=organisation, name="Backend")[1]


@pytest.fixture
def api(api_key):
    """A client of the API with the organisation's key."""
    return ApiClient(api_key)


class ApiClient:
    def __init__(self, key: str):
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params)

    def post(self, path, body):
        return self.client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")

    def put(self, path, body):
        return self.client.put(f"/api/v1{path}", json.dumps(body), content_type="application/json")


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    return body


@pytest.fixture
def end_user(organisation):
    return CustomerFactory(organisation=organisation, external_id="u-42", email="alice@example.com")


# Keys


def test_a_key_is_shown_once_and_stored_only_as_a_hash(organisation):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", organisation.slug, "--name", "Backend", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get()

    prefix, public_id, secret = raw.split("_", 2)
    assert (prefix, public_id, key.name) == ("pk", key.public_id, "Backend")
    assert len(secret) >= 43  # 32 random bytes: 256 bits
    assert key.secret_hash == hash_token(secret) and secret not in str(ApiKey.objects.values())
    assert "can't be shown again" in err.getvalue()


def test_unknown_revoked_or_missing_keys_get_the_same_401(organisation, api_key, end_user):
    other_key = api_key_create(organisation=organisation, name="Old")
    api_key_revoke(key=other_key[0])
    public_id = api_key.split("_")[1]
    answers = [
        Client().get("/api/v1/customers/u-42/access"),
        ApiClient("pk_nothing_here").get("/customers/u-42/access"),
        ApiClient(f"pk_{public_id}_wrongsecret").get("/customers/u-42/access"),
        ApiClient(other_key[1]).get("/customers/u-42/access"),
        Client().get(f"/api/v1/customers/u-42/access?key={api_key}"),  # never in the URL
    ]
    bodies = [assert_error(answer, 401, "unauthorized") for answer in answers]
    assert all(body == bodies[0] for body in bodies)


def test_last_used_is_recorded(api, end_user):
    assert ApiKey.objects.get().last_used_at is None
    api.get("/customers/u-42/access")
    assert ApiKey.objects.get().last_used_at is not None


def test_past_the_keys_rate_limit_429_with_retry_after(api, end_user, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "api_call": "2/m/key"}
    assert api.get("/customers/u-42/access").status_code == 200
    assert api.get("/customers/u-42/access").status_code == 200
    refused = api.get("/customers/u-42/access")
    assert_error(refused, 429, "rate_limited")
    assert int(refused["Retry-After"]) > 0


def test_every_call_is_in_the_api_log_without_the_key(api, api_key, end_user):
    api.get("/customers/u-42/access")
    api.get("/customers/nobody/access")
    ApiClient("pk_bad_key").get("/customers/u-42/access")

    calls = list(ApiCall.objects.order_by("pk").values_list("key_name", "method", "endpoint", "status"))
    assert calls == [
        ("Backend", "GET", "/api/v1/customers/{id}/access", 200),
        ("Backend", "GET", "/api/v1/customers/{id}/access", 404),
        ("", "GET", "/api/v1/customers/{id}/access", 401),
    ]
    assert api_key.split("_", 2)[2] not in str(list(ApiCall.objects.values()))


# Access


def test_access_names_the_sections_holding_something(api, organisation, end_user, make_ticket):
    make_ticket(requester=end_user)

    response = api.get("/customers/u-42/access")

    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == {"external_id": "u-42", "email": "alice@example.com", "name": end_user.name}
    assert body["has_access"] is True
    assert [section["key"] for section in body["sections"]] == ["tickets"]
    assert body["sections"][0]["url"] == f"{SITE_URL}/{organisation.slug}/support/"


def test_access_names_support_for_a_customer_who_sees_only_their_companys_tickets(api, organisation, end_user):
    TicketSettingsFactory(organisation=organisation, customer_access=TicketSettings.CustomerAccess.CONTACT_OR_COMPANY)
    colleague = CustomerFactory(organisation=organisation)
    company = CompanyFactory(organisation=organisation, members=[end_user, colleague])
    TicketFactory(organisation=organisation, requester=colleague, company=company)

    response = api.get("/customers/u-42/access")

    assert [section["key"] for section in response.json()["sections"]] == ["tickets"]


def test_access_leaves_out_a_section_the_customers_portal_turned_off(api, organisation, end_user, make_ticket):
    make_ticket(requester=end_user)
    portal = organisation.portals.get()
    portal.sections.filter(key="tickets").update(enabled=False)
    portal.section_layout_refresh()

    response = api.get("/customers/u-42/access")

    assert response.status_code == 200
    assert response.json()["sections"] == []


@pytest.mark.parametrize("ident", ["email:", "email:%20%20", "email:not-an-address"])
def test_an_empty_or_malformed_email_is_no_one_though_attendees_without_an_email_exist(api, organisation, ident):
    booking = Booking.objects.create(
        organisation=organisation,
        title="Private trip",
        starts_on=datetime.date(2027, 5, 1),
        ends_on=datetime.date(2027, 5, 4),
    )
    Attendee.objects.create(booking=booking, name="A child", email="")

    assert api.get(f"/customers/{ident}/access").status_code == 404
    assert api.post("/portal-sessions", {"customer": ident.replace("%20", " ")}).status_code == 404
    assert not Customer.objects.filter(email="").exists()
    assert not organisation_has_attendee_email(organisation, "")


def test_access_by_email_for_someone_known_only_to_a_section(api, attendee_email):
    response = api.get(f"/customers/email:{attendee_email.upper()}/access")

    assert response.status_code == 200
    assert response.json()["customer"] == {"external_id": None, "email": attendee_email, "name": ""}
    assert [section["key"] for section in response.json()["sections"]] == ["bookings"]
    assert not Customer.objects.filter(email=attendee_email).exists()


def test_no_access_while_the_door_is_closed_or_the_customer_deactivated(api, organisation, end_user):
    end_user.is_active = False
    end_user.save()
    assert api.get("/customers/u-42/access").json()["has_access"] is False


def test_a_key_of_one_organisation_never_reaches_another(api):
    elsewhere = CustomerFactory(organisation=OrganisationFactory(), external_id="u-42", email="bob@example.com")

    for answer in (
        api.get("/customers/u-42/access"),
        api.get(f"/customers/email:{elsewhere.email}/access"),
        api.post("/portal-sessions", {"customer": "u-42"}),
        api.get("/customers/u-42/portal-link"),
    ):
        assert_error(answer, 404, "customer_not_found")
    assert not CustomerToken.objects.exists()


# Sign-in URLs


def test_a_portal_session_is_a_url_valid_30_seconds(api, organisation, end_user):
    response = api.post("/portal-sessions", {"customer": "u-42", "return_to": f"/{organisation.slug}/support/"})

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    token = CustomerToken.objects.get()
    raw = body["url"].removeprefix(f"{SITE_URL}/{organisation.slug}/redirect/")
    assert token.token_hash == hash_token(raw) and len(raw) >= 64
    assert token.customer == end_user and token.next_path == f"/{organisation.slug}/support/"
    assert (token.expires_at - token.created_at).total_seconds() == pytest.approx(30, abs=1)
    assert body["id"] == f"ps_{token.pk}"
    event = AccessEvent.objects.get(kind="sign_in_redirect_issued")
    assert event.reason == "API key “Backend”" and raw not in str(AccessEvent.objects.values())


def test_the_get_form_gives_the_same_answer(api, organisation, end_user):
    response = api.get("/customers/u-42/portal-link", return_to=f"/{organisation.slug}/")

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert set(response.json()) == {"id", "url", "expires_at"}
    assert CustomerToken.objects.get().next_path == f"/{organisation.slug}/"


def test_a_portal_session_for_an_email_known_only_to_a_section_makes_the_customer(api, organisation, attendee_email):
    response = api.post("/portal-sessions", {"customer": f"email:{attendee_email}"})

    assert response.status_code == 201
    assert CustomerToken.objects.get().customer.email == attendee_email
    assert CustomerToken.objects.get().next_path == f"/{organisation.slug}/"


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example/",
        "//evil.example/",
        "/other-org/",
        "/{slug}\\..\\",
        "/{slug}/\x00",
        "{slug}/",
        # The browser resolves dot segments before asking: these lead to another portal, or the admin.
        "/{slug}/../other-org/",
        "/{slug}/%2e%2e/admin/",
        "/{slug}/./../admin/",
    ],
)
def test_return_to_must_be_a_path_inside_the_portal(api, organisation, end_user, return_to):
    response = api.post("/portal-sessions", {"customer": "u-42", "return_to": return_to.format(slug=organisation.slug)})

    assert_error(response, 422, "invalid_return_to")
    assert not CustomerToken.objects.exists()


def test_no_url_behind_a_closed_door_or_for_a_deactivated_customer(api, organisation, end_user):
    organisation.doors = ["password"]
    organisation.save()
    assert_error(api.post("/portal-sessions", {"customer": "u-42"}), 403, "door_closed")
    organisation.doors = ["api_redirect"]
    organisation.save()
    end_user.is_active = False
    end_user.save()
    assert_error(api.post("/portal-sessions", {"customer": "u-42"}), 403, "customer_inactive")
    assert not CustomerToken.objects.exists()


def test_bad_bodies_are_json_errors(api):
    bad_json = api.client.post("/api/v1/portal-sessions", "{not json", content_type="application/json")
    assert_error(bad_json, 400, "bad_request")
    assert_error(api.post("/portal-sessions", {"return_to": "/x/"}), 422, "invalid")


def test_a_body_over_the_memory_limit_is_a_413_and_changes_nothing(api, organisation, settings):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.put("/customers/u-9", {"email": "dana@example.com", "name": padding})
    assert_error(response, 413, "too_large")
    assert response.json()["message"] == "The request body is too large: at most 2560 KB."
    assert not Customer.objects.filter(external_id="u-9").exists()


# Provisioning


def test_put_creates_then_updates_an_end_user(api, organisation):
    created = api.put("/customers/u-7", {"email": " Carol@Example.com ", "name": "Carol"})
    updated = api.put("/customers/u-7", {"email": "carol.new@example.com", "name": "Carol N"})

    assert created.status_code == 201
    assert created.json() == {"external_id": "u-7", "email": "carol@example.com", "name": "Carol"}
    assert updated.status_code == 200
    customer = Customer.objects.get(organisation=organisation)
    assert (customer.external_id, customer.email, customer.name) == ("u-7", "carol.new@example.com", "Carol N")


def test_put_names_a_customer_known_by_email(api, organisation):
    known = CustomerFactory(organisation=organisation, email="dan@example.com")
    assert api.put("/customers/u-8", {"email": "dan@example.com"}).status_code == 200
    known.refresh_from_db()
    assert known.external_id == "u-8"


def test_one_mailbox_spelt_two_ways_is_one_customer(api, organisation):
    """An accent typed as a letter of its own (NFD) or within the letter (NFC) is one address."""
    composed, decomposed = "anna@b\u00e4ckerei.example", "Anna@ba\u0308ckerei.example"
    assert api.put("/customers/u-1", {"email": composed, "name": "Anna"}).status_code == 201

    assert_error(api.put("/customers/u-2", {"email": decomposed, "name": "Anna"}), 409, "email_taken")
    assert Customer.objects.get(organisation=organisation).email == composed


def test_put_refuses_an_email_of_another_end_user(api, organisation, end_user):
    assert_error(api.put("/customers/u-9", {"email": end_user.email}), 409, "email_taken")
    assert_error(api.put("/customers/u-9", {"email": "not an email"}), 422, "invalid_email")
    assert_error(api.put("/customers/email:x", {"email": "x@example.com"}), 422, "invalid_external_id")
    assert not Customer.objects.filter(external_id="u-9").exists()


@pytest.mark.parametrize(
    "name",
    [
        "山田\u3000太郎",  # a full-width space between family and given name
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, with a zero-width non-joiner
        "Ana\u00a0Sousa",  # a no-break space
        "Chef \U0001f468\u200d\U0001f373",  # an emoji made of a joiner
    ],
)
def test_put_takes_any_name_a_person_may_have(api, organisation, name):
    assert api.put("/customers/u-3", {"email": "someone@example.com", "name": name}).status_code == 201

    stored = Customer.objects.get(organisation=organisation).name
    assert stored == " ".join(name.split())  # on one line, its spaces folded as the profile does


def test_put_refuses_a_name_with_control_characters_and_writes_nothing(api, organisation):
    assert_error(api.put("/customers/u-4", {"email": "x@example.com", "name": "Bad\u0000Name"}), 422, "invalid_name")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("name", ["Alice\u202egnp.exe", "\u2067Alice", "Ali\u200bce", "Alice\ufeff", "\u200cAlice"])
def test_put_refuses_a_name_with_invisible_formatting_and_writes_nothing(api, organisation, name):
    body = assert_error(api.put("/customers/u-4", {"email": "x@example.com", "name": name}), 422, "invalid_name")

    assert body["message"] == (
        "A name is text without invisible formatting characters (such as a right-to-left mark or a zero-width space)."
    )
    assert not Customer.objects.exists()


def test_put_leaves_a_customers_name_as_it_was_when_the_new_one_has_invisible_formatting(api, end_user):
    response = api.put("/customers/u-42", {"email": "alice@example.com", "name": "Alice\u202egnp.exe"})

    assert_error(response, 422, "invalid_name")
    assert Customer.objects.get(pk=end_user.pk).name == end_user.name


def test_an_email_too_long_once_lower_cased_is_refused_not_a_server_error(api, organisation):
    # 152 characters as sent; "İ" lower-cased is two characters, so 292 once normalised, over the column's 254.
    email = "İ" * 140 + "@example.com"
    assert len(email) <= 254 < len(email.lower())

    assert_error(api.put("/customers/u-5", {"email": email}), 422, "invalid_email")
    assert not Customer.objects.exists()


# The document


def test_the_openapi_document_and_its_docs_page(client, db):
    document = client.get("/api/v1/openapi.json")

    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) == {
        "/api/v1/customers/{id}/access",
        "/api/v1/portal-sessions",
        "/api/v1/customers/{id}/portal-link",
        "/api/v1/customers/{external_id}",
        "/api/v1/tickets/{number}/portal-links",
        "/api/v1/conversations",
        "/api/v1/conversations/{id}/messages",
    }
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


# Staff


def test_staff_make_a_key_in_admin_see_it_once_and_revoke_it(admin_client, organisation):
    response = admin_client.post(
        "/admin/portal_auth/apikey/add/", {"organisation": organisation.pk, "name": "Backend"}, follow=True
    )

    page = response.content.decode()
    raw = re.search(r"(pk_[0-9a-f]{12}_[A-Za-z0-9_-]{43})", page).group(1)
    key = ApiKey.objects.get()
    assert key.secret_hash == hash_token(raw.split("_", 2)[2])
    assert ApiClient(raw).get("/customers/email:x@example.com/access").status_code == 404  # accepted, then 404
    listing = admin_client.get("/admin/portal_auth/apikey/").content.decode()
    assert raw not in listing and f"pk_{key.public_id}_…" in listing

    admin_client.post("/admin/portal_auth/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert_error(ApiClient(raw).get("/customers/email:x@example.com/access"), 401, "unauthorized")
    log = admin_client.get("/admin/portal_auth/apicall/").content.decode()
    assert "/api/v1/customers/{id}/access" in log and raw not in log


@pytest.mark.parametrize("path", ["/nothing-here", "/customers/u-42/access/", "/customers/a/b/c"])
def test_an_address_no_route_answers_is_a_json_404(api, end_user, path):
    response = api.client.get(f"/api/v1{path}")

    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        ({"method": "TRACE"}, 405, "method_not_allowed"),
        ({"CONTENT_TYPE": "application/json; charset=utf-16"}, 400, "bad_request"),
        ({"CONTENT_TYPE": "application/json; charset=rot13"}, 400, "bad_request"),
        ({"CONTENT_LENGTH": str(10**12)}, 413, "too_large"),
        ({"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""}, 411, "length_required"),
    ],
)
def test_a_call_refused_at_the_edge_is_json_and_in_the_api_log(api, api_key, request_kwargs, status, code):
    kwargs = dict(request_kwargs)
    method = kwargs.pop("method", "PUT")
    response = api.client.generic(method, "/api/v1/customers/u-42", b"{}", **kwargs)

    assert response.status_code == status and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code and response.json()["message"]
    logged = ApiCall.objects.get()
    assert (logged.method, logged.status) == (method, status)


def test_a_method_a_route_does_not_take_is_a_json_405(api, end_user):
    response = api.client.delete("/api/v1/customers/u-42")

    assert response.status_code == 405 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "method_not_allowed"
    assert "PUT" in response["Allow"] and "PUT" in response.json()["message"]
