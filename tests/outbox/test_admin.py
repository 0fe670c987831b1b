"""The outbox in the admin: counts on the index page, and "send again now" that queues instead of sending."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox.models import OutboxEmail
from tests.factories import StaffUserFactory


def test_send_again_now_queues_hundreds_of_emails_and_answers_without_sending_any(
    admin_client, waiting_emails, mailoutbox, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    failed = waiting_emails(500, status=OutboxEmail.Status.FAILED, attempts=30, last_error="SMTP said no")
    sent = waiting_emails(2, status=OutboxEmail.Status.SENT)
    selected = [email.pk for email in failed + sent]
    before = timezone.now()

    with django_capture_on_commit_callbacks() as deliveries:
        with django_assert_max_num_queries(20):
            response = admin_client.post(
                "/admin/outbox/outboxemail/", {"action": "retry_now", "_selected_action": selected}, follow=False
            )
        assert response.status_code == 302
        assert mailoutbox == []  # nothing sent while staff wait
        queued = OutboxEmail.objects.filter(pk__in=[email.pk for email in failed])
        assert queued.filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=timezone.now()).count() == 500
        assert queued.filter(retry_from__gte=before).count() == 500  # a fresh day of retries
    assert len(deliveries) == 1  # one unit of work after commit, for all of them

    page = admin_client.get(response["Location"]).content.decode()
    assert "Queued 500 emails to be sent now. 2 already sent, being sent or cancelled were left alone." in page


def test_admin_index_counts_waiting_and_failed_emails_in_one_query_however_many(admin_client, waiting_emails):
    def index_queries():
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get("/admin/").content.decode()
        return page, [q["sql"] for q in queries.captured_queries if "outbox_outboxemail" in q["sql"]]

    waiting_emails(3)
    waiting_emails(1, status=OutboxEmail.Status.SENDING)
    waiting_emails(2, status=OutboxEmail.Status.FAILED)
    waiting_emails(5, status=OutboxEmail.Status.SENT)
    page, queries = index_queries()

    status = re.search(r'<div class="module" id="outbox-status">(.*?)</div>', page, re.S).group(1)
    assert "<h2>Outgoing emails</h2>" in status
    assert '<a href="/admin/outbox/outboxemail/?status__exact=pending">4 waiting to be sent</a>' in status
    assert '<a href="/admin/outbox/outboxemail/?status__exact=failed">2 failed</a>' in status
    assert len(queries) == 1

    waiting_emails(40, status=OutboxEmail.Status.FAILED)
    page, queries = index_queries()
    assert "42 failed" in page and len(queries) == 1


@pytest.mark.django_db
def test_admin_index_shows_outbox_counts_only_to_staff_who_may_see_emails(client, waiting_emails):
    waiting_emails(2, status=OutboxEmail.Status.FAILED)
    staff = StaffUserFactory(is_superuser=False)
    staff.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(staff)
    assert 'id="outbox-status"' not in client.get("/admin/").content.decode()

    staff.user_permissions.add(Permission.objects.get(codename="view_outboxemail"))
    page = client.get("/admin/").content.decode()
    assert "2 failed" in page


def test_send_again_now_from_the_failed_filter_counts_what_it_queued(admin_client, waiting_emails, mailoutbox):
    failed = waiting_emails(3, status=OutboxEmail.Status.FAILED)
    response = admin_client.post(
        "/admin/outbox/outboxemail/?status__exact=failed",
        {"action": "retry_now", "_selected_action": [email.pk for email in failed]},
        follow=True,
    )
    page = response.content.decode()
    assert "Queued 3 emails to be sent now." in page
    assert "left alone" not in page


@pytest.mark.parametrize(
    "lookup", ["body_text__regex=/l/SECRET", "body_html__contains=SECRET", "secrets__0__regex=^SECRET", "secrets=[]"]
)
def test_the_list_can_not_be_filtered_by_the_parts_that_hold_a_sign_in_link(staff_client_with, organisation, lookup):
    OutboxEmail.objects.create(
        organisation=organisation,
        template="portal_auth/emails/access_link",
        to="a@example.com",
        subject="Your link",
        body_text="Open https://portal.example/x/l/SECRETTOKEN123",
        body_html="<a href='https://portal.example/x/l/SECRETTOKEN123'>Open</a>",
        secrets=["SECRETTOKEN123"],
        status=OutboxEmail.Status.FAILED,
    )
    viewer = staff_client_with("outbox.view_outboxemail")

    refused = viewer.get(f"/admin/outbox/outboxemail/?{lookup}")
    listed = viewer.get("/admin/outbox/outboxemail/?status__exact=failed")

    assert refused.status_code == 400
    assert "a@example.com" not in refused.content.decode()
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1


def test_the_outbox_is_listed_without_reading_every_row_for_its_dates_or_a_second_count(admin_client, waiting_emails):
    waiting_emails(2, status=OutboxEmail.Status.FAILED)
    waiting_emails(1)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/outbox/outboxemail/", {"status__exact": "failed"})

    sql = [query["sql"].upper() for query in queries]
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert not [query for query in sql if "DISTINCT" in query and "CREATED_AT" in query]
    assert len([query for query in sql if "COUNT(" in query]) == 1
