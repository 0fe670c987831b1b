import pytest

from portal_auth.models import AccessEvent
from tests.conftest import as_shown
from tests.tickets.factories import CompanyFactory, TicketMessageFactory, TicketSettingsFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def ticket_settings(organisation):
    return TicketSettingsFactory(organisation=organisation)


@pytest.fixture
def ticket(make_ticket):
    return make_ticket(subject="Lost luggage in Lisbon")


@pytest.fixture
def make_message():
    return TicketMessageFactory


@pytest.fixture
def make_company():
    return CompanyFactory


def events(kind):
    return list(AccessEvent.objects.filter(kind=kind).order_by("created_at", "pk"))


SITE_URL = "https://portal.example.test"


def open_access_link(client, link, **extra):
    """Do what a customer does with an emailed link: open it, then press the button on the page it leads to.

    Returns the button's response (a redirect where the link leads, or to the refused page).
    """
    path = link.removeprefix(SITE_URL)
    confirm = client.get(path, **extra)
    assert confirm.status_code == 302
    assert confirm["Location"] == path.rsplit("/", 1)[0] + "/open/"
    return client.post(confirm["Location"], as_shown(client, confirm["Location"]), **extra)
