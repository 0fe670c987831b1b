"""The outbox: recorded with the action, sent after commit, retried until delivered, never lost."""

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox.models import OutboxEmail
from outbox.services import (
    EXPIRED_UNSENT,
    MAYBE_SENT,
    REFUSED_FOR_GOOD,
    EmailDraft,
    email_enqueue,
    emails_enqueue,
    outbox_collect,
    outbox_deliver,
    outbox_requeue,
    outbox_withdraw,
)
from portal_auth.doors.access_link.services import access_link_send
from tests.factories import CustomerFactory
from tests.outbox.factories import OutboxEmailFactory
from tests.smtp import RecordingHandler, html_of, text_of

TEMPLATE = "portal_auth/emails/password_changed"


def enqueue(organisation, to="ana@example.com"):
    customer = CustomerFactory.build(organisation=organisation, email=to, name="Ana")
    return email_enqueue(
        organisation=organisation,
        to=to,
        template=TEMPLATE,
        context={"customer": customer, "sign_in_link": "https://portal.example.test/x/sign-in/"},
    )


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_to_the_smtp_server_after_commit(smtp_server, organisation):
    with transaction.atomic():
        email = enqueue(organisation)
        assert smtp_server.messages == []  # nothing leaves before the action commits
    [message] = smtp_server.messages
    assert message["To"] == "ana@example.com"
    assert organisation.public_name in message["From"]
    assert message["Reply-To"] == organisation.support_email
    assert "has just been set" in text_of(message)
    assert "<strong>ana@example.com</strong>" in html_of(message)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.sent_at is not None and email.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_email_of_a_rolled_back_action_is_never_sent(smtp_server, organisation):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(organisation)
        raise RuntimeError("the action failed")
    assert smtp_server.messages == []
    assert OutboxEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_refused_email_stays_in_the_outbox_and_send_outbox_delivers_it_later(smtp_server, organisation, capsys):
    smtp_server.refuse()
    with transaction.atomic():
        email = enqueue(organisation)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING
    assert email.attempts == 1
    assert "451" in email.last_error
    assert email.next_attempt_at > timezone.now()
    assert smtp_server.messages == []

    # Not due yet: the command leaves it alone.
    call_command("send_outbox")
    assert smtp_server.messages == []

    smtp_server.refuse(False)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        call_command("send_outbox")
    assert "Sent 1, failed 0, still waiting 0.\n" in capsys.readouterr().out
    assert len(smtp_server.messages) == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 2 and email.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_mail_server_down_loses_nothing(settings, organisation):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},
        }
    }
    with transaction.atomic():
        email = enqueue(organisation)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING
    assert "Connection refused" in email.last_error or "Errno" in email.last_error


def test_a_failing_email_is_retried_hourly_until_its_retry_horizon_then_given_up(smtp_server, organisation, settings):
    settings.OUTBOX_RETRY_HORIZON = timedelta(days=1)
    smtp_server.refuse()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = enqueue(organisation)
    tried_at = []
    while email.status == OutboxEmail.Status.PENDING:  # send_outbox runs whenever the email is due
        moment = email.next_attempt_at
        with time_machine.travel(moment, tick=False):
            assert outbox_deliver().failed == 1
        tried_at.append(round((moment - start).total_seconds() / 60))
        email.refresh_from_db()

    gaps = [later - earlier for earlier, later in zip(tried_at, tried_at[1:], strict=False)]
    assert gaps[:7] == [1, 2, 4, 8, 16, 32, 60]  # backing off to once an hour...
    assert set(gaps[6:]) == {60}  # ...and no slower, long after the first two hours
    assert tried_at[-1] <= 24 * 60 < tried_at[-1] + 60  # until a day has passed
    assert email.status == OutboxEmail.Status.FAILED  # then given up: only staff send it again
    assert email.attempts == len(tried_at) == 29
    with time_machine.travel(start + timedelta(days=3)):
        assert outbox_deliver() == (0, 0, "")


def test_each_email_carries_a_message_id_of_its_own_that_stays_with_it(smtp_server, organisation, settings):
    settings.DEFAULT_FROM_EMAIL = "portal@voyages.example"
    first, second = enqueue(organisation), enqueue(organisation)
    assert re.fullmatch(r"<outbox-[0-9a-f]{32}@voyages\.example>", first.message_id)
    assert first.message_id != second.message_id

    outbox_deliver()

    assert sorted(message["Message-ID"] for message in smtp_server.messages) == sorted(
        [first.message_id, second.message_id]
    )
    first.refresh_from_db()
    assert first.message_id == smtp_server.messages_to(first.to)[0]["Message-ID"]


def test_each_email_is_sent_once_even_when_delivered_twice(organisation, mailoutbox):
    email = enqueue(organisation)
    assert outbox_deliver(ids=[email.pk]) == (1, 0, "")
    assert outbox_deliver(ids=[email.pk]) == (0, 0, "")
    assert len(mailoutbox) == 1


def test_staff_see_each_email_and_can_retry_one(
    admin_client, organisation, mailoutbox, django_capture_on_commit_callbacks
):
    email = enqueue(organisation)
    OutboxEmail.objects.filter(pk=email.pk).update(status=OutboxEmail.Status.FAILED, last_error="SMTP said no")
    listing = admin_client.get("/admin/outbox/outboxemail/?status=failed")
    assert listing.status_code == 200
    assert "ana@example.com" in listing.content.decode()
    detail = admin_client.get(f"/admin/outbox/outboxemail/{email.pk}/change/")
    assert "SMTP said no" in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/outbox/outboxemail/", {"action": "retry_now", "_selected_action": [email.pk]}, follow=True
        )
    assert "Queued 1 email to be sent now." in response.content.decode()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert len(mailoutbox) == 1


def test_plain_text_part_is_not_html_escaped(organisation, mailoutbox):
    organisation.display_name = "Kate's <Tours> & Co"
    organisation.save()
    email = enqueue(organisation)
    assert "Kate's <Tours> & Co" in email.body_text
    assert "Kate's <Tours> & Co" in email.subject
    assert "Kate&#x27;s &lt;Tours&gt; &amp; Co" in email.body_html


def test_secrets_are_hidden_from_staff_and_scrubbed_once_sent(admin_client, organisation, mailoutbox):
    link = "https://portal.example.test/x/password/link/SECRET-TOKEN-VALUE/"
    customer = CustomerFactory.build(organisation=organisation, email="ana@example.com", name="Ana")
    email = email_enqueue(
        organisation=organisation,
        to="ana@example.com",
        template="portal_auth/emails/password_link",
        context={"customer": customer, "link": link, "lifetime_minutes": 60},
        secrets=[link],
    )
    waiting = admin_client.get(f"/admin/outbox/outboxemail/{email.pk}/change/").content.decode()
    assert "SECRET-TOKEN-VALUE" not in waiting
    assert "Hidden until sent" in waiting

    outbox_deliver(ids=[email.pk])

    assert link in mailoutbox[0].body  # the customer gets the link...
    email.refresh_from_db()
    assert "SECRET-TOKEN-VALUE" not in email.body_text + email.body_html  # ...the stored copy does not keep it
    assert "link removed from the stored copy" in email.body_text
    assert email.secrets == []
    sent = admin_client.get(f"/admin/outbox/outboxemail/{email.pk}/change/").content.decode()
    assert "link removed from the stored copy" in sent


def test_cancelled_email_is_never_sent_and_keeps_no_text(organisation, mailoutbox):
    email = email_enqueue(
        organisation=organisation,
        to="ana@example.com",
        template=TEMPLATE,
        context={"customer": CustomerFactory.build(organisation=organisation), "sign_in_link": "https://x/"},
        reference="conversations.message:42",
    )
    other = enqueue(organisation)
    assert outbox_withdraw(reference="conversations.message:42") == 1
    assert outbox_deliver() == (1, 0, "")
    assert [m.to for m in mailoutbox] == [[other.to]]
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.CANCELLED
    assert email.body_text == email.body_html == "[withdrawn: what this email said was redacted]"


def test_retrying_needs_permission_to_change_emails(client, organisation, mailoutbox):
    from django.contrib.auth.models import Permission

    from tests.factories import StaffUserFactory

    viewer = StaffUserFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxemail"))
    client.force_login(viewer)
    email = enqueue(organisation)
    OutboxEmail.objects.filter(pk=email.pk).update(status=OutboxEmail.Status.FAILED)
    client.post("/admin/outbox/outboxemail/", {"action": "retry_now", "_selected_action": [email.pk]})
    assert mailoutbox == []
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED


def test_admin_speaks_of_the_portal(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Customer portal administration" in html
    assert "Customers and sign-in" in html and "Email outbox" in html


def test_both_parts_sign_off_with_the_organisation_and_its_support_address(organisation, mailoutbox):
    email = enqueue(organisation)
    for part in (email.body_text, email.body_html):
        assert organisation.public_name in part
        assert "Questions? Reply to this email or write to" in part and organisation.support_email in part

    organisation.support_email = ""
    organisation.save()
    email = enqueue(organisation)
    assert "Questions?" not in email.body_text and "Questions?" not in email.body_html
    assert email.body_text.rstrip().endswith(organisation.public_name)


class WithdrawingHandler(RecordingHandler):
    """Accepts each email; once told a reference, the message behind it is redacted while it takes the next."""

    reference = ""

    async def handle_DATA(self, server, session, envelope):
        if self.reference:
            await asyncio.to_thread(self._withdraw)
        return await super().handle_DATA(server, session, envelope)

    def _withdraw(self):
        try:
            outbox_withdraw(reference=self.reference)
            self.reference = ""
        finally:
            connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_email_withdrawn_while_others_are_being_sent_is_not_sent(smtp_server_with, organisation):
    smtp_server = smtp_server_with(WithdrawingHandler())
    first = enqueue(organisation, to="first@example.com")  # sent at once, after its commit
    assert smtp_server.messages_to("first@example.com")
    smtp_server.handler.messages.clear()
    now = timezone.now()
    OutboxEmail.objects.filter(pk=first.pk).update(
        status=OutboxEmail.Status.PENDING, next_attempt_at=now - timedelta(minutes=2)
    )
    redacted = OutboxEmailFactory(
        organisation=organisation, reference="conversations.message:42", next_attempt_at=now - timedelta(minutes=1)
    )

    smtp_server.handler.reference = "conversations.message:42"

    assert outbox_deliver() == (1, 0, "")  # both claimed; the first one's delivery withdraws the second

    assert [str(message["To"]) for message in smtp_server.messages] == ["first@example.com"]
    redacted.refresh_from_db()
    assert redacted.status == OutboxEmail.Status.CANCELLED
    assert redacted.body_text == "[withdrawn: what this email said was redacted]"


def test_an_email_interrupted_while_sending_is_cancelled_by_withdrawal_not_sent_again(organisation, mailoutbox):
    email = OutboxEmailFactory(
        organisation=organisation,
        reference="conversations.message:42",
        status=OutboxEmail.Status.SENDING,
        claimed_by="web-1:4242:abcd",
        claimed_at=timezone.now(),
    )
    assert outbox_withdraw(reference="conversations.message:42") == 1
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert outbox_deliver() == (0, 0, "")
    assert mailoutbox == []  # least of all its withdrawn placeholder text
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.CANCELLED


def link_email(organisation, to, link):
    return email_enqueue(
        organisation=organisation,
        to=to,
        template="portal_auth/emails/password_link",
        context={
            "customer": CustomerFactory.build(organisation=organisation, email=to),
            "link": link,
            "lifetime_minutes": 60,
        },
        secrets=[link],
    )


def test_an_email_is_recorded_with_its_message_id_in_one_insert(organisation, django_assert_num_queries):
    with outbox_collect(), django_assert_num_queries(1):
        email = enqueue(organisation)
    assert email.message_id and OutboxEmail.objects.get(pk=email.pk).message_id == email.message_id


def test_many_emails_are_recorded_in_one_insert_with_one_delivery_task(organisation, database_tasks):
    from django_tasks_db.models import DBTaskResult

    customer = CustomerFactory.build(organisation=organisation, name="Ana")
    context = {"customer": customer, "sign_in_link": "https://portal.example.test/x/sign-in/"}
    drafts = [EmailDraft(to=f"customer{n}@example.com", context=context) for n in range(30)]
    with CaptureQueriesContext(connection) as queries:
        emails = emails_enqueue(organisation=organisation, template=TEMPLATE, drafts=drafts)
    inserts = [query["sql"] for query in queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == 2  # the emails, then their one delivery task
    assert [email.to for email in OutboxEmail.objects.order_by("pk")] == [draft.to for draft in drafts]
    assert len({email.message_id for email in emails}) == 30
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"]["ids"] == [email.pk for email in emails]


def test_a_batch_is_sent_and_recorded_in_as_many_queries_whatever_its_size_each_copy_scrubbed_of_its_own_link(
    smtp_server, organisation
):
    def deliver(count):
        links = [f"https://portal.example.test/x/l/SECRET-{count}-{n}/" for n in range(count)]
        emails = [link_email(organisation, f"c{n}-of-{count}@example.com", link) for n, link in enumerate(links)]
        with CaptureQueriesContext(connection) as queries:
            assert outbox_deliver(ids=[email.pk for email in emails]) == (count, 0, "")
        return emails, links, len(queries)

    _, _, few = deliver(2)
    emails, links, many = deliver(40)

    assert many == few
    assert len(smtp_server.messages) == 42
    for email, link in zip(emails, links, strict=True):
        assert link in text_of(smtp_server.messages_to(email.to)[0])
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.SENT and email.attempts == 1 and email.secrets == []
        assert "SECRET-" not in email.body_text + email.body_html
        assert "link removed from the stored copy" in email.body_text


def test_withdrawing_needs_a_reference_so_emails_without_one_are_never_cancelled_together(organisation):
    email = enqueue(organisation)
    with pytest.raises(ValueError):
        outbox_withdraw(reference="")
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and "has just been set" in email.body_text


@pytest.mark.django_db(transaction=True)
def test_each_email_of_a_batch_is_scrubbed_of_its_own_secrets_however_many_it_has(smtp_server, organisation):
    with outbox_collect():  # delivered below, together
        none = enqueue(organisation, to="nothing@example.com")
        one = link_email(organisation, "single@example.com", "https://portal.example.test/x/l/SECRET-ONE/")
    two = OutboxEmailFactory(
        organisation=organisation,
        body_text="First SECRET-A, then SECRET-B; and SECRET-ONE is not its own.",
        body_html="<p>SECRET-B</p>",
        secrets=["SECRET-A", "SECRET-B"],
    )

    assert outbox_deliver(ids=[none.pk, one.pk, two.pk]) == (3, 0, "")

    none_text = none.body_text
    for email in (none, one, two):
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.SENT and email.secrets == []
    assert none.body_text == none_text
    assert "SECRET-ONE" not in one.body_text + one.body_html and "link removed" in one.body_text
    removed = "[link removed from the stored copy after sending]"
    assert two.body_text == f"First {removed}, then {removed}; and SECRET-ONE is not its own."
    assert two.body_html == f"<p>{removed}</p>"
    assert "SECRET-ONE" in text_of(smtp_server.messages_to("single@example.com")[0])
    assert len(smtp_server.messages) == 3


def test_a_run_claims_as_big_a_query_for_its_last_batch_as_for_its_first(organisation, mailoutbox):
    OutboxEmailFactory.waiting(250, organisation=organisation, next_attempt_at=timezone.now() - timedelta(minutes=1))

    with CaptureQueriesContext(connection) as queries:
        assert outbox_deliver(limit=1000) == (250, 0, "")

    claim = '"status" AS "status" FROM "outbox_outboxemail"'  # the look for what to claim: ids and statuses
    claims = [query["sql"] for query in queries if claim in query["sql"]]
    assert len(claims) == 4  # three batches, and the look that finds nothing left
    assert len({len(sql) for sql in claims}) == 1
    assert len(mailoutbox) == 250


class RefusesOneWhileTimePasses(RecordingHandler):
    """Refuses mail to refused@example.com; each email it takes moves the clock ten minutes on."""

    clock = None

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos == ["refused@example.com"]:
            return "451 4.3.0 Try again later"
        self.clock.shift(timedelta(minutes=10))
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.django_db(transaction=True)
def test_an_email_that_fails_is_tried_once_per_run_however_long_the_run(smtp_server_with, organisation, monkeypatch):
    monkeypatch.setattr("outbox.services.CLAIM_BATCH", 1)  # a claim after each email
    handler = RefusesOneWhileTimePasses()
    smtp_server = smtp_server_with(handler)
    due = timezone.now() - timedelta(minutes=1)
    refused = OutboxEmailFactory(organisation=organisation, to="refused@example.com", next_attempt_at=due)
    OutboxEmailFactory.waiting(2, organisation=organisation, next_attempt_at=due + timedelta(seconds=1))

    with time_machine.travel(timezone.now()) as clock:
        handler.clock = clock
        # The refused email is due again a minute after its failure, twenty minutes before the run ends.
        assert outbox_deliver(time_budget=3600) == (2, 1, "")

    refused.refresh_from_db()
    assert refused.attempts == 1 and refused.status == OutboxEmail.Status.PENDING
    assert len(smtp_server.messages) == 2


class RefusesRecipient(RecordingHandler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: user unknown"


class RefusesContent(RecordingHandler):
    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Message rejected"


@pytest.mark.parametrize("handler", [RefusesRecipient, RefusesContent])
def test_an_email_the_server_refuses_for_good_is_given_up_at_once(smtp_server_with, organisation, handler):
    smtp_server_with(handler())
    email = enqueue(organisation)

    assert outbox_deliver().failed == 1

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED and email.attempts == 1
    assert email.last_error.startswith(REFUSED_FOR_GOOD) and "5." in email.last_error
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert outbox_deliver() == (0, 0, "")  # no retry: staff send it again from the admin once it can go


def test_a_server_that_stops_answering_mid_email_gets_it_at_most_twice(smtp_server_with, organisation, settings):
    class AcceptsThenHangs(RecordingHandler):
        """Keeps the message, then answers the end of DATA after the client's timeout: it may have arrived."""

        async def handle_DATA(self, server, session, envelope):
            accepted = await super().handle_DATA(server, session, envelope)
            await asyncio.sleep(1.5)
            return accepted

    server = smtp_server_with(AcceptsThenHangs())
    settings.MAILERS["default"]["OPTIONS"]["timeout"] = 0.5
    email = enqueue(organisation)

    for _ in range(4):
        with time_machine.travel(email.next_attempt_at, tick=True):
            outbox_deliver()
        email.refresh_from_db()

    assert len(server.messages) == 2
    assert email.status == OutboxEmail.Status.FAILED and email.attempts == 2
    assert email.last_error.startswith(MAYBE_SENT) and "twice" in email.last_error


@pytest.mark.parametrize("name", ["Acme Support \\", 'Lumière "Events"', "Two\r\nLines", "A, B & C <x@y>"])
def test_any_organisation_name_makes_a_from_header_with_the_portals_address(smtp_server, organisation, name):
    organisation.display_name = name
    organisation.save()
    enqueue(organisation)

    assert outbox_deliver() == (1, 0, "")

    [message] = smtp_server.messages
    [sender] = message["From"].addresses
    assert sender.addr_spec == "portal@localhost"
    assert sender.display_name == " ".join(name.split())


def test_dates_in_an_email_are_the_organisations_wherever_it_is_written(organisation):
    organisation.time_zone = "America/Los_Angeles"
    organisation.save()
    customer = CustomerFactory(organisation=organisation)
    # 03:00 UTC on 2 June is still 1 June in Los Angeles: a link for 30 days dies there on 1 July, at 20:00.
    with time_machine.travel(datetime(2026, 6, 2, 3, 0, tzinfo=UTC), tick=False), transaction.atomic():
        token = access_link_send(  # as a task, the admin or a command sends it: no zone made active by a page
            customer=customer,
            next_path=f"/{organisation.slug}/",
            created_by=None,
            link_route="portal_auth:sign_in_link",
            email_template="portal_auth/emails/portal_link_requested",
        )

    assert timezone.localtime(token.expires_at, organisation.zone).date() == date(2026, 7, 1)
    [email] = OutboxEmail.objects.all()
    assert "until 1 July 2026" in email.body_text and "2 July" not in email.body_text


def test_an_email_whose_code_stopped_working_is_cancelled_not_sent(smtp_server, organisation):
    smtp_server.refuse()  # a mail outage
    start = timezone.now()
    email = email_enqueue(
        organisation=organisation,
        to="ana@example.com",
        template=TEMPLATE,
        context={"customer": CustomerFactory.build(organisation=organisation), "sign_in_link": "https://x/"},
        useless_after=start + timedelta(minutes=10),
    )

    # Tried at once, then after 1, 2 and 4 minutes: the next try, 8 minutes on, would come after the code's 10.
    for minutes in (0, 1, 3, 7):
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.PENDING
        with time_machine.travel(start + timedelta(minutes=minutes, seconds=1), tick=False):
            assert outbox_deliver().failed == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.CANCELLED and email.last_error.startswith(EXPIRED_UNSENT)

    smtp_server.refuse(False)
    with time_machine.travel(start + timedelta(hours=1)):
        assert outbox_requeue(ids=[email.pk]) == 0  # staff can't send it again either
        assert outbox_deliver() == (0, 0, "")
    assert smtp_server.messages == []


def test_an_email_due_after_what_it_carries_expired_is_cancelled_at_its_claim(smtp_server, organisation):
    email = OutboxEmailFactory(organisation=organisation, useless_after=timezone.now() - timedelta(seconds=1))
    kept = OutboxEmailFactory(organisation=organisation, useless_after=timezone.now() + timedelta(minutes=5))

    assert outbox_deliver() == (1, 0, "")

    email.refresh_from_db()
    kept.refresh_from_db()
    assert email.status == OutboxEmail.Status.CANCELLED and email.last_error == EXPIRED_UNSENT
    assert kept.status == OutboxEmail.Status.SENT
    assert [message["To"] for message in smtp_server.messages] == [kept.to]
