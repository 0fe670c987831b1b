"""Requested links are tasks: the request writes one and answers; the worker looks the email up and sends."""

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from outbox.models import OutboxEmail
from portal_auth.models import AccessEvent, Customer, CustomerToken
from tests.factories import CustomerFactory

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def ask(path, email):
    return Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=BROWSER).post(path, {"email": email})


def tasks_written():
    return [(task.task_path, task.args_kwargs["kwargs"]) for task in DBTaskResult.objects.order_by("enqueued_at")]


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_a_password_link_request_is_answered_before_any_look_up_and_done_by_the_worker(
    organisation, attendee_email, mailoutbox, run_worker, known
):
    email = attendee_email if known else "nobody@example.com"

    response = ask(f"/{organisation.slug}/password/", email)

    # The same answer, and nothing looked up or written for the email yet, whether or not it is known.
    assert response.status_code == 302 and response["Location"] == f"/{organisation.slug}/password/sent/"
    assert not Customer.objects.exists() and not OutboxEmail.objects.exists()
    origin = {"ip": "203.0.113.9", "user_agent": BROWSER}
    portal_id = organisation.portals.get().pk
    expected = {"organisation_id": organisation.pk, "portal_id": portal_id, "email": email, "origin": origin}
    assert tasks_written() == [("portal_auth.tasks.password_link_send_task", expected)]

    run_worker()

    if not known:
        assert mailoutbox == [] and not Customer.objects.exists() and not AccessEvent.objects.exists()
        return
    [sent] = mailoutbox
    assert sent.to == [attendee_email] and "/password/link/" in sent.body
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PASSWORD_LINK_SENT)
    assert (event.customer.email, event.ip, event.user_agent) == (attendee_email, "203.0.113.9", BROWSER)


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_an_access_link_request_is_answered_before_any_look_up_and_done_by_the_worker(
    organisation, mailoutbox, run_worker, known
):
    customer = CustomerFactory(organisation=organisation)
    email = customer.email if known else "nobody@example.com"

    response = ask(f"/{organisation.slug}/link/new/", email)

    assert response.status_code == 302 and response["Location"] == f"/{organisation.slug}/link/new/sent/"
    assert not CustomerToken.objects.exists() and not OutboxEmail.objects.exists()
    [(path, values)] = tasks_written()
    assert path == "portal_auth.tasks.access_link_request_task"
    assert values["email"] == email and values["door"]["link_route"] == "portal_auth:sign_in_link"

    run_worker()

    if not known:
        assert mailoutbox == [] and not CustomerToken.objects.exists()
        return
    [sent] = mailoutbox
    assert sent.to == [customer.email] and f"/{organisation.slug}/link/" in sent.body
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.ACCESS_LINK_SENT)
    assert (event.ip, event.user_agent) == ("203.0.113.9", BROWSER)


def test_a_request_for_an_organisation_deleted_meanwhile_is_dropped(organisation, attendee_email, run_worker):
    ask(f"/{organisation.slug}/password/", attendee_email)
    organisation.delete()

    assert run_worker() == 1

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert not OutboxEmail.objects.exists()
