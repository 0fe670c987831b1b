"""The profile page: the customer's own details and emails, validated in plain words, quick and always fresh."""

import re

import pytest
from django.test import Client

from outbox.models import OutboxEmail
from portal_auth.models import Customer
from profiles.models import EmailChange, Profile
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory
from tests.portal_auth.test_drafts import after_session_lifetime, browser, csrf_token, sign_in_by_form

ADDRESS = {
    "address_line_1": "12 Rua das Flores",
    "address_line_2": "",
    "city": "Lisboa",
    "postcode": "1200-195",
    "country": "Portugal",
}


def profile_url(customer) -> str:
    return f"/{customer.organisation.slug}/profile/"


def ticked(html: str, name: str) -> bool:
    box = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', html)
    assert box is not None, f"no checkbox {name}"
    return " checked" in box.group(0)


def details(**changes) -> dict:
    return {"name": "Ana Sousa", "phone": "+351 21 123 4567", "language": "pt", **ADDRESS, **changes}


@pytest.fixture
def client_of(sign_in, customer):
    return sign_in(customer)


def test_the_profile_shows_the_customers_email_and_their_details(client_of, customer):
    Profile.objects.create(customer=customer, phone="020 7946 0958", city="London", country="United Kingdom")

    response = client_of.get(profile_url(customer))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"<strong>{customer.email}</strong>" in html
    assert 'value="020 7946 0958"' in html and 'value="London"' in html
    assert 'aria-current="page">Profile</a>' in html
    assert "Change email address" in html


def test_the_profile_leads_to_the_customers_recent_access_and_sessions(client_of, customer):
    html = client_of.get(profile_url(customer)).content.decode()

    slug = customer.organisation.slug
    assert f'<a href="/{slug}/profile/access/">See your recent access</a>' in html
    assert f'<a href="/{slug}/profile/access/sessions/">See your sessions</a>' in html


def test_saving_keeps_the_details_on_the_profile_and_the_name_on_the_customer(client_of, customer):
    response = client_of.post(profile_url(customer), details())

    assert response.status_code == 302 and response["Location"] == profile_url(customer)
    profile = Profile.objects.get(customer=customer)
    assert (profile.phone, profile.city, profile.postcode, profile.language) == (
        "+351 21 123 4567",
        "Lisboa",
        "1200-195",
        "pt",
    )
    assert profile.address_lines == ["12 Rua das Flores", "1200-195 Lisboa", "Portugal"]
    customer.refresh_from_db()
    assert customer.name == "Ana Sousa"
    assert "Your profile is saved." in client_of.get(profile_url(customer)).content.decode()


def test_everything_may_be_left_empty(client_of, customer):
    empty = {name: "" for name in details()}
    assert client_of.post(profile_url(customer), empty).status_code == 302
    assert Profile.objects.get(customer=customer).address_lines == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "call me maybe"}, "phone", "A phone number can have only digits, spaces, brackets and hyphens"),
        ({"phone": "12 34"}, "phone", "That phone number is too short. Enter the whole number, with its area code."),
        ({"phone": "+44 1234 5678 9012 345"}, "phone", "That phone number is too long: a phone number has at most 15"),
        ({"phone": "+0 20 7946 0958"}, "phone", "After the + comes the country code, which never starts with 0"),
        *(
            ({"phone": phone}, "phone", "Write a phone number as groups of digits with one space, hyphen or dot")
            for phone in ("+1 ((((((((((((( 2345678", "..../////-----1234567", "(020 7946 0958", "020--7946 0958")
        ),
        ({"address_line_1": ""}, "address_line_1", "Enter the first line of your address, or clear the address"),
        ({"city": ""}, "city", "Enter your town or city, or clear the address to have none."),
        ({"country": ""}, "country", "Enter your country, or clear the address to have none."),
        ({"postcode": "SW1A <1AA>"}, "postcode", "A postcode can have only letters, digits, spaces and hyphens."),
        # Letters that capitalise into others ("ß" to "SS", "ﬀ" to "FF") are not the letters the rule allows.
        ({"postcode": "ß" * 16}, "postcode", "A postcode can have only letters, digits, spaces and hyphens."),
        ({"postcode": "ſt ﬀ1"}, "postcode", "A postcode can have only letters, digits, spaces and hyphens."),
        ({"language": "klingon"}, "language", "Choose a language from the list."),
        ({"name": "x" * 201}, "name", "Your name can have at most 200 characters."),
        # What the API refuses too: a bell, a terminal's escape sequences, C1 controls (into emails and exports).
        (
            {"name": "Ann\x07\x1b[2J\x7f\x9b"},
            "name",
            "Your name can have no control characters (such as a bell or an escape).",
        ),
        ({"city": "\x01Lisboa"}, "city", "Town or city can have no control characters (such as a bell or an escape)."),
        (
            {"address_line_2": "Apt 1\x1b[0m"},
            "address_line_2",
            "Address line 2 can have no control characters (such as a bell or an escape).",
        ),
        (
            {"address_line_1": "12 Rua das \u202eserolF"},
            "address_line_1",
            "Address line 1 can have no invisible formatting characters (such as a right-to-left mark",
        ),
    ],
)
def test_a_mistake_is_said_in_plain_words_and_nothing_is_saved(client_of, customer, changes, field, message):
    response = client_of.post(profile_url(customer), details(**changes))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Profile" in html
    assert "There is a problem" in html
    assert f'href="#id_{field}"' in html  # the summary links to the field
    assert message in html
    assert not Profile.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    "name",
    [
        "Alice\u202egnp.exe",  # reads "Aliceexe.png" wherever it is shown
        "Ana \u2066Sousa",
        "\u200fAna",
        "Ali\u200bce",
        "\ufeffAna",
        "Ana\u200d",  # a joiner that joins nothing
    ],
)
def test_a_name_with_invisible_formatting_is_refused_and_the_name_kept(client_of, customer, name):
    kept = customer.name

    response = client_of.post(profile_url(customer), details(name=name))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_name"' in html
    assert (
        "Your name can have no invisible formatting characters (such as a right-to-left mark or a zero-width space): "
        "type it again rather than pasting it." in html
    )
    customer.refresh_from_db()
    assert customer.name == kept
    assert not Profile.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\u3164", "Your name needs at least one letter or digit that shows."),  # a Hangul filler, drawn as nothing
        ("\u2800 \uffa0", "Your name needs at least one letter or digit that shows."),
        ("A" + "\u0301" * 190, "Your name can have at most 4 accents or other marks on one letter."),
    ],
)
def test_a_name_that_shows_blank_or_as_a_tower_of_accents_is_refused_and_the_name_kept(
    client_of, customer, name, message
):
    kept = customer.name

    response = client_of.post(profile_url(customer), details(name=name))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="#id_name"' in html and message in html
    customer.refresh_from_db()
    assert customer.name == kept
    assert not Profile.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, a zero-width non-joiner inside the name
        "\u0915\u094d\u200d\u0937\u093e \u0936\u0930\u094d\u092e\u093e",  # Devanagari, a joiner for a half form
        "Chef \U0001f468\u200d\U0001f373",  # an emoji made of two and a joiner
    ],
)
def test_a_name_with_joiners_that_join_its_letters_is_saved(client_of, customer, name):
    assert client_of.post(profile_url(customer), details(name=name)).status_code == 302

    customer.refresh_from_db()
    assert customer.name == name


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "(020) 7946-0958",
        "+1 (415) 555-0132",
        "0612345678",
        "+33.6.12.34.56.78",
        "+44 (0)20 7946 0958",
    ],
)
def test_phone_numbers_as_people_write_them_are_taken(client_of, customer, phone):
    assert client_of.post(profile_url(customer), details(phone=phone)).status_code == 302
    assert Profile.objects.get(customer=customer).phone == phone


def test_a_postcode_is_kept_in_capitals_and_lines_on_one_line(client_of, customer):
    client_of.post(profile_url(customer), details(postcode=" sw1a 1aa ", address_line_1="10 Downing\r\nStreet"))
    profile = Profile.objects.get(customer=customer)
    assert (profile.postcode, profile.address_line_1) == ("SW1A 1AA", "10 Downing Street")


def test_a_customer_changes_only_their_own_profile(client_of, customer, other_customer, other_organisation):
    # Nothing in the form names whose profile it is: the session does.
    elsewhere = CustomerFactory(organisation=other_organisation, email=customer.email)
    client_of.post(profile_url(customer), details(customer=other_customer.pk, name="Mallory"))

    assert Profile.objects.get().customer == customer
    other_customer.refresh_from_db()
    assert other_customer.name != "Mallory"
    # Another organisation's portal, where the same address is another customer, asks for a sign-in.
    response = client_of.get(profile_url(elsewhere))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{other_organisation.slug}/sign-in/")


def test_a_signed_out_visitor_is_sent_to_sign_in(client, customer):
    response = client.get(profile_url(customer))
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{customer.organisation.slug}/sign-in/")


def test_a_post_without_the_forms_csrf_token_changes_nothing(sign_in, customer):
    client = sign_in(customer, client=Client(enforce_csrf_checks=True))
    response = client.post(profile_url(customer), details())
    assert response.status_code == 403
    assert not Profile.objects.exists()


def test_emails_the_customer_wants_are_ticked_as_they_chose(client_of, customer):
    html = client_of.get(profile_url(customer)).content.decode()
    # Replies are sent until the customer says no; news waits for a yes.
    assert ticked(html, "email_ticket_replies") and ticked(html, "email_conversation_replies")
    assert not ticked(html, "email_news")

    client_of.post(profile_url(customer), details(email_news="on", email_conversation_replies="on"))

    customer.refresh_from_db()
    assert customer.email_choices == {"ticket_replies": False, "conversation_replies": True, "news": True}
    html = client_of.get(profile_url(customer)).content.decode()
    assert not ticked(html, "email_ticket_replies")
    assert ticked(html, "email_news")


def test_choices_of_emails_no_section_sends_any_more_are_kept(client_of, customer):
    Customer.objects.filter(pk=customer.pk).update(email_choices={"booking_reminders": False})
    client_of.post(profile_url(customer), details())
    customer.refresh_from_db()
    assert customer.email_choices["booking_reminders"] is False


def test_saving_the_profile_sends_no_email(client_of, customer):
    client_of.post(profile_url(customer), details())
    assert not OutboxEmail.objects.exists()


def test_the_page_takes_the_same_few_queries_with_or_without_a_profile(
    client_of, customer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6) as few:
        assert client_of.get(profile_url(customer)).status_code == 200
    queries = len(few.captured_queries)  # read now: each request clears the connection's log
    Profile.objects.create(customer=customer, phone="020 7946 0958")
    client_of.post(f"{profile_url(customer)}email/", {"new_email": "new@example.com", "password": CUSTOMER_PASSWORD})
    assert EmailChange.objects.filter(customer=customer).exists()
    with django_assert_max_num_queries(queries):
        assert client_of.get(f"{profile_url(customer)}?again").status_code == 200


def test_a_saved_profile_is_shown_at_once_though_the_page_was_cached(client_of, customer, settings):
    assert settings.PAGE_CACHE_ENABLED
    first = client_of.get(profile_url(customer)).content.decode()
    assert client_of.get(profile_url(customer)).content.decode().count("Lisboa") == first.count("Lisboa") == 0

    client_of.post(profile_url(customer), details())
    client_of.get(profile_url(customer))  # shows "saved" once, and is not kept

    assert 'value="Lisboa"' in client_of.get(profile_url(customer)).content.decode()


def test_details_typed_after_the_session_ended_are_back_in_the_form_after_signing_in(customer):
    client = browser()
    sign_in_by_form(client, customer)
    token = csrf_token(client.get(profile_url(customer)).content.decode())
    with after_session_lifetime():
        response = client.post(profile_url(customer), {**details(city="Faro"), "csrfmiddlewaretoken": token})
        assert response.status_code == 302 and "/sign-in/" in response["Location"]
        back = sign_in_by_form(client, customer, next_path=profile_url(customer))["Location"]
        html = client.get(back).content.decode()

    assert "Your session had ended, so nothing was saved." in html
    assert 'value="Faro"' in html
    assert not Profile.objects.exists()
