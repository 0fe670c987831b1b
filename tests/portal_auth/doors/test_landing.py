"""The landing of an emailed link, shared by the password and access-link doors: the token's hash into the session,
the browser to a URL without it."""

import pytest
from django.test import Client

from portal_auth.doors.access_link.views import TOKEN_SESSION_KEY
from portal_auth.doors.password.views import PASSWORD_TOKEN_SESSION_KEY
from portal_auth.models import hash_token
from tests.factories import OrganisationFactory

TOKEN = "t" * 64

# (door key, the link's path after the organisation, the session key, the page the link leads to)
LANDINGS = [
    ("password", f"password/link/{TOKEN}", PASSWORD_TOKEN_SESSION_KEY, "password/set/"),
    ("access_link", f"link/{TOKEN}", TOKEN_SESSION_KEY, "link/open/"),
    ("access_link", f"support/portal/{TOKEN}", TOKEN_SESSION_KEY, "support/portal/open/"),
]


@pytest.mark.parametrize(("door", "path", "session_key", "clean_page"), LANDINGS)
def test_an_emailed_link_files_only_its_hash_and_leads_to_a_url_without_it(db, door, path, session_key, clean_page):
    organisation = OrganisationFactory()
    client = Client()

    response = client.get(f"/{organisation.slug}/{path}")

    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/{clean_page}"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.session[session_key] == hash_token(TOKEN)
    assert TOKEN not in str(dict(client.session))


@pytest.mark.parametrize(("door", "path", "session_key", "clean_page"), LANDINGS)
def test_an_emailed_link_behind_a_closed_door_files_nothing_and_its_page_answers_404(
    db, door, path, session_key, clean_page
):
    organisation = OrganisationFactory(doors=[key for key in ("password", "access_link") if key != door])
    client = Client()

    response = client.get(f"/{organisation.slug}/{path}")

    # Still a redirect, not an error: a 404 at the link's own URL would write the token into the logs.
    assert response.status_code == 302
    assert response["Location"] == f"/{organisation.slug}/{clean_page}"
    assert session_key not in client.session
    assert client.get(response["Location"]).status_code == 404


@pytest.mark.parametrize(("door", "path", "session_key", "clean_page"), LANDINGS)
def test_an_emailed_link_to_an_unknown_organisation_goes_to_the_front_page(db, door, path, session_key, clean_page):
    client = Client()

    response = client.get(f"/no-such-business/{path}")

    assert response.status_code == 302 and response["Location"] == "/"
    assert session_key not in client.session
