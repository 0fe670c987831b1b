"""Custom sign-on: the business signs an HS256 JWT {email, iat}; the portal accepts it once."""

import base64
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from portal_auth.doors.external_sign_on.services import external_token_sign
from portal_auth.doors.external_sign_on.views import STATE_SESSION_KEY
from portal_auth.models import AccessEvent, Customer, PortalSection, UsedExternalToken
from portal_auth.sessions import SESSION_CUSTOMER, SESSION_METHOD
from portal_core.origin import ClientOrigin
from tests.factories import CustomerFactory, OrganisationFactory

BUSINESS_LOGIN = "https://login.business.example/portal?brand=blue"


@pytest.fixture
def business(db):
    """An organisation with custom sign-on on and a secret rotated once, so both secrets exist."""
    organisation = OrganisationFactory(external_sign_on_enabled=True, external_sign_on_url=BUSINESS_LOGIN)
    organisation.rotate_external_sign_on_secret()
    organisation.rotate_external_sign_on_secret()
    organisation.save()
    return organisation


def sign(claims, secret, *, algorithm="HS256", headers=None):
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def token_for(organisation, email="traveller@example.com", *, secret=None, headers=None, **extra):
    claims = {"email": email, "iat": int(time.time()), **extra}
    return sign(claims, secret or organisation.external_sign_on_secret, headers=headers)


def callback(client, organisation, token, **params):
    """The token arriving from the business after sign-on started in this browser (the portal's own button):
    at the address the start gave the business, whose state this browser's session holds."""
    session = client.session
    session[STATE_SESSION_KEY] = "state-of-this-browser"
    session.save()
    return client.get(
        f"/{organisation.slug}/sign-in/external/return/state-of-this-browser/", {"externalToken": token, **params}
    )


def signed_in_customer_id(client):
    return client.session.get(SESSION_CUSTOMER)


def last_event(organisation):
    return AccessEvent.objects.filter(organisation=organisation).order_by("-pk").first()


# Acceptance


def test_a_valid_token_creates_the_customer_and_signs_them_in(client, business):
    response = callback(client, business, token_for(business, "New.Traveller@Example.com", name="Ana Lima"))

    assert response.status_code == 302
    assert response["Location"] == f"/{business.slug}/conversations/"
    assert response["Referrer-Policy"] == "no-referrer"
    customer = Customer.objects.get(organisation=business)
    assert customer.email == "new.traveller@example.com" and customer.name == "Ana Lima"
    assert signed_in_customer_id(client) == customer.pk
    assert client.session[SESSION_METHOD] == "external_sign_on"
    assert client.get(response["Location"]).status_code == 200
    accepted = AccessEvent.objects.get(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON)
    assert accepted.customer == customer and accepted.reason == "signed with the current secret"
    assert AccessEvent.objects.filter(
        kind=AccessEvent.Kind.SIGN_IN, customer=customer, method="external_sign_on"
    ).exists()


def test_on_a_portal_that_hides_conversations_sign_on_lands_on_its_home(client, business):
    portal = business.portals.get()
    PortalSection.objects.filter(portal=portal, key="conversations").update(enabled=False)
    portal.section_layout_refresh()

    response = callback(client, business, token_for(business))

    assert response["Location"] == f"/{business.slug}/"
    assert client.get(response["Location"]).status_code == 200


def test_an_existing_customer_is_signed_in_not_duplicated(client, business):
    existing = CustomerFactory(organisation=business, email="known@example.com")

    callback(client, business, token_for(business, "known@example.com"))

    assert signed_in_customer_id(client) == existing.pk
    assert Customer.objects.filter(organisation=business).count() == 1


def test_kid_picks_the_previous_secret_during_rotation(client, business):
    token = token_for(
        business,
        secret=business.external_sign_on_previous_secret,
        headers={"kid": business.external_sign_on_previous_secret_id},
    )

    response = callback(client, business, token)

    assert response.status_code == 302 and signed_in_customer_id(client)
    assert last_event(business).kind == AccessEvent.Kind.SIGN_IN
    assert AccessEvent.objects.get(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON).reason == "signed with the previous secret"


def test_without_kid_either_active_secret_works(client, business):
    response = callback(client, business, token_for(business, secret=business.external_sign_on_previous_secret))

    assert response.status_code == 302 and signed_in_customer_id(client)


def test_kid_naming_one_secret_with_a_token_signed_by_the_other_is_refused(client, business):
    token = token_for(
        business, secret=business.external_sign_on_previous_secret, headers={"kid": business.external_sign_on_secret_id}
    )

    response = callback(client, business, token)

    assert response.status_code == 403
    assert last_event(business).reason == "bad signature"


def test_a_secret_rotated_twice_no_longer_works(client, business):
    old_secret = business.external_sign_on_previous_secret
    business.rotate_external_sign_on_secret()
    business.save()

    response = callback(client, business, token_for(business, secret=old_secret))

    assert response.status_code == 403


def test_the_helper_signs_tokens_the_portal_accepts(client, business):
    response = callback(client, business, external_token_sign(organisation=business, email="helper@example.com"))

    assert response.status_code == 302
    assert Customer.objects.get(organisation=business).email == "helper@example.com"


@pytest.mark.parametrize(
    "audience", [lambda org: org.slug, lambda org: django_settings.SITE_URL, lambda org: ["x", org.slug]]
)
def test_an_audience_naming_the_portal_or_organisation_is_accepted(client, business, audience):
    response = callback(client, business, token_for(business, aud=audience(business)))

    assert response.status_code == 302 and signed_in_customer_id(client)


def test_exp_in_the_future_and_nbf_in_the_past_are_accepted(client, business):
    now = int(time.time())

    response = callback(client, business, token_for(business, exp=now + 300, nbf=now - 10))

    assert response.status_code == 302


def test_iat_14_minutes_old_and_30_seconds_ahead_are_accepted(client, business):
    for iat in (int(time.time()) - 14 * 60, int(time.time()) + 30):
        client.cookies.clear()
        response = callback(client, business, token_for(business, iat=iat, jti=f"jti-{iat}"))
        assert response.status_code == 302, iat


def test_next_given_at_the_start_is_where_the_customer_lands(client, business):
    start = client.get(f"/{business.slug}/sign-in/external/start/", {"next": f"/{business.slug}/conversations/7/"})

    response = callback(client, business, token_for(business))

    assert start.status_code == 302
    assert response["Location"] == f"/{business.slug}/conversations/7/"


def test_next_on_the_callback_must_stay_inside_the_portal(client, business):
    response = callback(client, business, token_for(business), next="https://evil.example/")

    assert response["Location"] == f"/{business.slug}/"


# Refusals: each one logged with its reason, nothing signed in, no customer created, nothing marked used.


def assert_refused(response, organisation, reason, *, status=403, client=None):
    assert response.status_code == status
    html = response.content.decode()
    assert "We couldn't sign you in" in html
    assert f'href="/{organisation.slug}/sign-in/external/start/"' in html  # a way to try again
    assert response["Referrer-Policy"] == "no-referrer"
    event = last_event(organisation)
    assert event.kind == AccessEvent.Kind.EXTERNAL_SIGN_ON_REFUSED and event.reason == reason
    assert reason not in html  # the reason is for the log only
    assert not Customer.objects.filter(organisation=organisation).exists()
    assert not UsedExternalToken.objects.exists()
    if client is not None:
        assert signed_in_customer_id(client) is None


def test_bad_signature_is_refused(client, business):
    token = token_for(business)
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(b'{"email":"boss@example.com","iat":%d}' % int(time.time())).rstrip(b"=")

    response = callback(client, business, f"{header}.{forged_payload.decode()}.{signature}")

    assert_refused(response, business, "bad signature", client=client)


def test_a_wrong_secret_is_refused(client, business):
    response = callback(client, business, token_for(business, secret="an-entirely-different-secret-of-enough-length!"))

    assert_refused(response, business, "bad signature", client=client)


def test_another_organisations_secret_is_refused(client, business):
    other = OrganisationFactory(external_sign_on_enabled=True, external_sign_on_url=BUSINESS_LOGIN)
    other.rotate_external_sign_on_secret()
    other.save()

    response = callback(client, business, token_for(other))

    assert_refused(response, business, "bad signature", client=client)


def test_alg_none_is_refused(client, business):
    unsigned = jwt.encode({"email": "x@example.com", "iat": int(time.time())}, None, algorithm="none")

    response = callback(client, business, unsigned)

    assert_refused(response, business, "algorithm none not allowed", client=client)


def test_hs512_is_refused_even_with_the_right_secret(client, business):
    token = sign(
        {"email": "x@example.com", "iat": int(time.time())}, business.external_sign_on_secret, algorithm="HS512"
    )

    response = callback(client, business, token)

    assert_refused(response, business, "algorithm HS512 not allowed", client=client)


def test_an_unknown_algorithm_name_is_not_copied_into_the_log(client, business):
    header = base64.urlsafe_b64encode(b'{"alg":"<script>","typ":"JWT"}').rstrip(b"=").decode()
    token = token_for(business)
    _, payload, signature = token.split(".")

    response = callback(client, business, f"{header}.{payload}.{signature}")

    assert_refused(response, business, "algorithm another algorithm not allowed", client=client)


def test_missing_iat_is_refused(client, business):
    response = callback(client, business, sign({"email": "x@example.com"}, business.external_sign_on_secret))

    assert_refused(response, business, "missing iat", client=client)


def test_iat_that_is_not_a_number_is_refused(client, business):
    response = callback(client, business, token_for(business, iat="yesterday"))

    assert_refused(response, business, "iat is not a number", client=client)


def test_iat_older_than_15_minutes_is_refused(client, business):
    response = callback(client, business, token_for(business, iat=int(time.time()) - 16 * 60 - 5))

    assert_refused(response, business, "iat too old", client=client)


def test_an_absurdly_old_iat_is_refused_not_an_error(client, business):
    response = callback(client, business, token_for(business, iat=-(10**20)))

    assert_refused(response, business, "iat too old", client=client)


def test_iat_in_the_future_is_refused(client, business):
    response = callback(client, business, token_for(business, iat=int(time.time()) + 120))

    assert_refused(response, business, "iat in the future", client=client)


def test_a_token_signed_a_moment_ago_stops_working_after_15_minutes(client, business):
    token = token_for(business)

    with time_machine.travel(time.time() + 16 * 60 + 1, tick=False):
        response = callback(client, business, token)

    assert_refused(response, business, "iat too old", client=client)


def test_an_expired_token_is_refused(client, business):
    response = callback(client, business, token_for(business, exp=int(time.time()) - 120))

    assert_refused(response, business, "expired (exp)", client=client)


def test_a_token_not_valid_yet_is_refused(client, business):
    response = callback(client, business, token_for(business, nbf=int(time.time()) + 600))

    assert_refused(response, business, "not valid yet (nbf)", client=client)


def test_a_token_for_another_audience_is_refused(client, business):
    response = callback(client, business, token_for(business, aud="https://another-service.example"))

    assert_refused(response, business, "wrong audience", client=client)


def test_missing_email_is_refused(client, business):
    response = callback(client, business, sign({"iat": int(time.time())}, business.external_sign_on_secret))

    assert_refused(response, business, "missing email", client=client)


@pytest.mark.parametrize("email", ["not-an-email", "a@b@example.com", "x" * 250 + "@example.com", "me@exa mple.com"])
def test_a_bad_email_is_refused(client, business, email):
    response = callback(client, business, token_for(business, email))

    assert_refused(response, business, "invalid email", client=client)


def test_an_email_that_is_not_text_is_refused(client, business):
    response = callback(client, business, token_for(business, ["x@example.com"]))

    assert_refused(response, business, "missing email", client=client)


def test_a_jti_that_is_not_text_is_refused(client, business):
    response = callback(client, business, token_for(business, jti=42))

    assert_refused(response, business, "jti is not a string", client=client)


def test_an_unknown_kid_is_refused(client, business):
    response = callback(client, business, token_for(business, headers={"kid": "retired"}))

    assert_refused(response, business, "unknown kid", client=client)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 5000])
def test_no_or_malformed_token_is_a_bad_request(client, business, token):
    response = callback(client, business, token)

    reason = {"": "no token", "x" * 5000: "token too long"}.get(token, "malformed token")
    assert_refused(response, business, reason, status=400, client=client)


def test_custom_sign_on_turned_off_refuses_even_good_tokens_as_a_closed_door(client, business):
    token = token_for(business)
    business.external_sign_on_enabled = False
    business.save()

    response = callback(client, business, token)

    assert response.status_code == 404
    assert last_event(business).reason == "custom sign-on is off"
    assert "Try again" not in response.content.decode()
    assert signed_in_customer_id(client) is None


def test_a_deactivated_customer_is_refused(client, business):
    CustomerFactory(organisation=business, email="gone@example.com", is_active=False)

    response = callback(client, business, token_for(business, "gone@example.com"))

    assert response.status_code == 403
    event = last_event(business)
    assert event.reason == "customer deactivated" and event.email == "gone@example.com"
    assert signed_in_customer_id(client) is None
    assert not UsedExternalToken.objects.exists()


# Single use


def test_a_token_works_once(client, business):
    token = token_for(business)
    first = callback(client, business, token)

    second_client = client_class()
    replay = callback(second_client, business, token)

    assert first.status_code == 302
    assert replay.status_code == 403
    event = last_event(business)
    assert event.reason == "already used" and event.email == "traveller@example.com"
    assert signed_in_customer_id(second_client) is None
    assert UsedExternalToken.objects.count() == 1


def test_a_re_encoded_token_is_still_the_same_token(client, business):
    token = token_for(business)
    callback(client, business, token)
    header, payload, signature = token.split(".")
    # Padding is allowed in a signature segment: new text, same signature, so the same token.
    padded = f"{header}.{payload}.{signature}="
    assert base64.urlsafe_b64decode(signature + "=") == base64.urlsafe_b64decode(padded.split(".")[2])

    replay = callback(client_class(), business, padded)

    assert replay.status_code == 403 and last_event(business).reason == "already used"


def test_a_token_with_spare_bits_flipped_is_refused(client, business):
    token = token_for(business)
    header, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    flipped = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]

    response = callback(client, business, f"{header}.{payload}.{flipped}")

    assert_refused(response, business, "malformed token", status=400, client=client)


def test_tokens_with_the_same_jti_work_once(client, business):
    callback(client, business, token_for(business, jti="order-77"))

    replay = callback(client_class(), business, token_for(business, "other@example.com", jti="order-77", name="x"))

    assert replay.status_code == 403 and last_event(business).reason == "already used"


def test_the_same_jti_at_another_organisation_is_independent(client, business):
    other = OrganisationFactory(external_sign_on_enabled=True, external_sign_on_url=BUSINESS_LOGIN)
    other.rotate_external_sign_on_secret()
    other.save()
    callback(client, business, token_for(business, jti="order-77"))

    response = callback(client_class(), other, token_for(other, jti="order-77"))

    assert response.status_code == 302


def test_the_single_use_record_holds_no_token_and_expires_with_it(client, business):
    token = token_for(business, jti="abc-123")

    callback(client, business, token)

    used = UsedExternalToken.objects.get()
    assert used.key.startswith("jti:") and "abc-123" not in used.key
    remaining = used.expires_at.timestamp() - time.time()
    assert 15 * 60 < remaining <= 16 * 60 + 1


def test_the_access_log_never_holds_the_token(client, business):
    tokens = [token_for(business), token_for(business, iat=0), "not-a-jwt"]
    for token in tokens:
        callback(client_class(), business, token)

    for event in AccessEvent.objects.all():
        for token in tokens:
            for part in token.split("."):
                assert part not in (event.reason + event.email + event.user_agent)


def client_class():
    from django.test import Client

    return Client()


# The doors around it


def test_the_callback_is_rate_limited_per_ip(client, business, settings):
    settings.PORTAL_RATE_LIMITS = {**settings.PORTAL_RATE_LIMITS, "external_sign_on": "3/5m/ip"}

    statuses = [callback(client, business, "junk").status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]
    assert last_event(business).kind == AccessEvent.Kind.RATE_LIMITED
    good = callback(client, business, token_for(business))
    assert good.status_code == 429 and signed_in_customer_id(client) is None


def test_start_sends_the_browser_to_the_business_with_return_to(client, business):
    response = client.get(f"/{business.slug}/sign-in/external/start/")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "login.business.example", "/portal")
    query = parse_qs(target.query)
    assert query["brand"] == ["blue"]  # the business's own parameters are kept
    [return_to] = query["return_to"]
    state = client.session[STATE_SESSION_KEY]
    assert len(state) >= 32
    assert return_to == f"https://portal.example.test/{business.slug}/sign-in/external/return/{state}/"


def test_a_token_sent_to_a_browser_that_started_sign_on_elsewhere_names_its_account_first(client, business):
    # Another site opens the start page in this browser, then sends it to the callback with a token of its own.
    client.get(f"/{business.slug}/sign-in/external/start/")

    response = client.get(f"/{business.slug}/sign-in/external/", {"externalToken": token_for(business)})

    assert response.status_code == 200
    assert "traveller@example.com" in response.content.decode()
    assert signed_in_customer_id(client) is None
    assert STATE_SESSION_KEY not in client.session  # used up: it can't be replayed either


@pytest.mark.parametrize("returned_to", ["wrong-state", "used-state"])
def test_a_token_at_a_return_address_this_browser_did_not_get_names_its_account_first(client, business, returned_to):
    client.get(f"/{business.slug}/sign-in/external/start/")
    state = client.session[STATE_SESSION_KEY]
    if returned_to == "used-state":
        callback_url = f"/{business.slug}/sign-in/external/return/{state}/"
        client.get(callback_url, {"externalToken": token_for(business, jti="first")})
        client.cookies.clear()
    else:
        callback_url = f"/{business.slug}/sign-in/external/return/{returned_to}/"

    response = client.get(callback_url, {"externalToken": token_for(business, jti="second")})

    assert response.status_code == 200
    assert "Continue as" in response.content.decode()
    assert signed_in_customer_id(client) is None


def test_start_is_not_found_when_custom_sign_on_is_off(client, organisation):
    response = client.get(f"/{organisation.slug}/sign-in/external/start/")

    assert response.status_code == 404


def test_sign_in_page_offers_the_business_sign_on(client, business):
    html = client.get(f"/{business.slug}/sign-in/", {"next": f"/{business.slug}/conversations/"}).content.decode()

    assert f"Sign in with {business.public_name}" in html
    assert f'href="/{business.slug}/sign-in/external/start/?next=/{business.slug}/conversations/"' in html
    assert 'name="password"' in html  # the password form stays


def test_sign_in_page_without_custom_sign_on_has_no_such_button(client, organisation):
    html = client.get(f"/{organisation.slug}/sign-in/").content.decode()

    assert "Sign in with" not in html


def test_a_customer_signed_in_elsewhere_is_switched_to_the_tokens_customer(sign_in, business):
    someone = CustomerFactory(organisation=business)
    client = sign_in(someone)
    old_session = client.session.session_key

    callback(client, business, token_for(business, "me@example.com"))

    assert client.session.session_key != old_session  # a fresh session: no fixation
    assert signed_in_customer_id(client) == Customer.objects.get(email="me@example.com").pk


def test_the_readme_example_signs_a_token_the_portal_accepts(client, business):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme[readme.index("## Conversations and custom sign-on") :]
    example = section[
        section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)
    ]
    namespace = {}
    exec(example, namespace)

    url = namespace["portal_sign_on_url"](
        f"{django_settings.SITE_URL}/{business.slug}/sign-in/external/",
        "reader@example.com",
        business.external_sign_on_secret,
        business.external_sign_on_secret_id,
    )
    # A link from the business's own site: the portal names the account, its button signs in.
    page = client.get(url.removeprefix(django_settings.SITE_URL))
    assert "Continue as reader@example.com" in page.content.decode()
    response = client.post(page.request["PATH_INFO"], {"externalToken": page.context["token"]})

    assert response.status_code == 302
    assert Customer.objects.get(organisation=business).email == "reader@example.com"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uses_of_one_token_sign_in_once():
    import threading

    from django.db import connection, connections
    from django.test import RequestFactory

    from portal_auth.doors.external_sign_on.services import SignOnRefused, external_sign_on_accept

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    organisation = OrganisationFactory(external_sign_on_enabled=True, external_sign_on_url=BUSINESS_LOGIN)
    organisation.rotate_external_sign_on_secret()
    organisation.save()
    token = token_for(organisation)
    start, outcomes = threading.Barrier(2), []

    def use():
        request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
        start.wait()
        try:
            external_sign_on_accept(origin=ClientOrigin.from_request(request), organisation=organisation, token=token)
            outcomes.append("accepted")
        except SignOnRefused as refusal:
            outcomes.append(refusal.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted", "already used"]
    assert UsedExternalToken.objects.count() == 1


def test_a_token_not_asked_for_from_this_browser_first_names_its_account(business):
    """Someone else's link carrying their own token must not silently sign this browser in (login CSRF)."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    token = token_for(business, "attacker@example.com")
    page = browser.get(f"/{business.slug}/sign-in/external/", {"externalToken": token})

    assert page.status_code == 200
    assert "signing you in as <strong>attacker@example.com</strong>" in page.content.decode()
    assert signed_in_customer_id(browser) is None
    assert not UsedExternalToken.objects.exists()  # the token is not used up by looking

    forged = Client(enforce_csrf_checks=True).post(f"/{business.slug}/sign-in/external/", {"externalToken": token})
    assert forged.status_code == 403
    assert not UsedExternalToken.objects.exists()

    response = browser.post(
        f"/{business.slug}/sign-in/external/",
        {"externalToken": token, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=signed_in_customer_id(browser)).email == "attacker@example.com"
    assert UsedExternalToken.objects.count() == 1


@pytest.mark.parametrize("started_here", [False, True], ids=["from a link", "started in this browser"])
def test_a_link_previews_head_uses_no_token_and_other_methods_are_refused(client, business, started_here):
    """A chat app's link preview sends HEAD: it must neither sign in nor burn the customer's token."""
    token = token_for(business)
    session = client.session
    session[STATE_SESSION_KEY] = "state-of-this-browser"
    session.save()
    path = f"/{business.slug}/sign-in/external/" + ("return/state-of-this-browser/" if started_here else "")

    assert client.head(path, {"externalToken": token}).status_code == 200
    assert client.options(path, {"externalToken": token}).status_code == 405

    assert signed_in_customer_id(client) is None
    assert not UsedExternalToken.objects.exists()


def test_a_bad_token_not_asked_for_from_this_browser_is_refused_and_logged(client, business):
    token = token_for(business, secret="not the secret at all, not at all, no")
    response = client.get(f"/{business.slug}/sign-in/external/", {"externalToken": token})

    assert response.status_code == 403
    assert "Continue as" not in response.content.decode()
    refusal = AccessEvent.objects.get(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON_REFUSED)
    assert token not in refusal.reason and refusal.reason


# Tokens built to break the portal rather than to fool it: each is refused as malformed (400), never an error.


def with_header(organisation, header: dict, **claims) -> str:
    """A token whose header says anything at all, signed over that header as the business would sign it."""
    import hashlib
    import hmac
    import json

    def part(value) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part({'email': 'x@example.com', 'iat': int(time.time()), **claims})}"
    key = organisation.external_sign_on_secret.encode()
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return f"{signing_input}.{signature.decode()}"


@pytest.mark.parametrize("alg", [["HS256"], {"name": "HS256"}, ["none", "HS256"], 256, None])
@pytest.mark.parametrize("started_here", [False, True], ids=["link", "button"])
def test_an_alg_that_is_not_a_string_is_a_malformed_token(client, business, alg, started_here):
    token = with_header(business, {"alg": alg, "typ": "JWT"})

    if started_here:
        response = callback(client, business, token)
    else:  # anonymous, straight from a link
        response = client.get(f"/{business.slug}/sign-in/external/", {"externalToken": token})

    assert_refused(response, business, "alg is not a string", status=400, client=client)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"name": "Ana\x00Lima"}, "name has a control character or lone surrogate"),
        ({"name": "Ana \ud800Lima"}, "name has a control character or lone surrogate"),
        ({"name": "Ana\x1bLima"}, "name has a control character or lone surrogate"),
        ({"email": "ana@exa\ud800mple.com"}, "email has a control character or lone surrogate"),
        ({"jti": "abc\ud800"}, "jti has a control character or lone surrogate"),
    ],
    ids=["nul-in-name", "surrogate-in-name", "escape-in-name", "surrogate-in-email", "surrogate-in-jti"],
)
@pytest.mark.parametrize("started_here", [False, True], ids=["link", "button"])
def test_text_that_cannot_be_stored_is_a_malformed_token(client, business, claims, reason, started_here):
    token = sign({"email": "ana@example.com", "iat": int(time.time()), **claims}, business.external_sign_on_secret)

    if started_here:
        response = callback(client, business, token)
    else:
        response = client.get(f"/{business.slug}/sign-in/external/", {"externalToken": token})

    assert_refused(response, business, reason, status=400, client=client)


def test_line_breaks_and_tabs_in_a_name_become_spaces(client, business):
    response = callback(client, business, token_for(business, "ana@example.com", name="  Ana\r\n\tLima  "))

    assert response.status_code == 302
    assert Customer.objects.get(organisation=business).name == "Ana Lima"


@pytest.mark.parametrize("name", ["Ana\u202egnp.exe", "Ana\u200bLima", "\u200dAna"])
def test_a_name_with_invisible_formatting_is_left_out_and_the_customer_signed_in(client, business, name):
    response = callback(client, business, token_for(business, "ana@example.com", name=name))

    assert response.status_code == 302
    customer = Customer.objects.get(organisation=business)
    assert customer.email == "ana@example.com" and customer.name == ""
    assert signed_in_customer_id(client) == customer.pk
    accepted = AccessEvent.objects.get(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON)
    assert (
        accepted.reason == "signed with the current secret; its name left out: it has invisible formatting characters"
    )


def test_a_name_with_joiners_that_join_its_letters_is_taken(client, business):
    name = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"  # Persian, a zero-width non-joiner inside it

    assert callback(client, business, token_for(business, "ana@example.com", name=name)).status_code == 302

    assert Customer.objects.get(organisation=business).name == name
    assert AccessEvent.objects.get(kind=AccessEvent.Kind.EXTERNAL_SIGN_ON).reason == "signed with the current secret"


# The door open and closed


@pytest.mark.parametrize("path", ["sign-in/external/start/", "sign-in/external/"])
def test_custom_sign_on_pages_answer_404_once_its_door_is_closed(client, business, path):
    token = token_for(business)
    assert callback(Client(), business, token_for(business, "first@example.com")).status_code == 302  # open
    business.doors = ["password", "access_link"]
    business.save()

    response = client.get(f"/{business.slug}/{path}", {"externalToken": token})

    assert response.status_code == 404
    assert signed_in_customer_id(client) is None
    assert "Sign in with" not in client.get(f"/{business.slug}/sign-in/").content.decode()
