"""POST /api/v1/tickets/{number}/portal-links: the requester gets a fresh portal link by email."""

import pytest
from django.test import Client

from portal_auth.api_keys import api_key_create
from portal_auth.models import CustomerToken
from tests.conftest import link_in
from tests.factories import OrganisationFactory


@pytest.fixture
def api(organisation):
    key = api_key_create(organisation=organisation, name="Backend")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_the_requester_gets_a_link_to_the_ticket(
    api, organisation, make_ticket, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/tickets/{ticket.number}/portal-links")

    assert response.status_code == 202
    assert response.json() == {"ticket": ticket.number, "sent_to": ticket.requester.email}
    [email] = mailoutbox
    assert email.to == [ticket.requester.email]
    link_in(email.body, f"/{organisation.slug}/support/portal/")
    assert CustomerToken.objects.get().next_path.endswith(f"/support/{ticket.number}/")


def test_another_organisations_ticket_is_404(api, make_ticket, mailoutbox):
    ticket = make_ticket(organisation=OrganisationFactory())
    response = api.post(f"/api/v1/tickets/{ticket.number}/portal-links")
    assert response.status_code == 404 and response.json()["code"] == "ticket_not_found"
    assert mailoutbox == []


def test_behind_a_closed_link_door_409(api, organisation, make_ticket):
    organisation.doors = ["password"]
    organisation.save()
    response = api.post(f"/api/v1/tickets/{make_ticket().number}/portal-links")
    assert response.status_code == 409 and response.json()["code"] == "door_closed"


def test_a_deactivated_requester_is_sent_no_link_409(api, make_ticket, mailoutbox):
    ticket = make_ticket()
    ticket.requester.is_active = False
    ticket.requester.save()

    response = api.post(f"/api/v1/tickets/{ticket.number}/portal-links")

    assert response.status_code == 409 and response.json()["code"] == "customer_inactive"
    assert mailoutbox == [] and not CustomerToken.objects.exists()
