"""Staff add drafts, tabs, memberships and payments on the admin's add pages: once per page shown, however often it
is saved or sent again, with what its inlines (a draft's lines, a tab's charges) add."""

import datetime
import re
import threading
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection, transaction
from django.test import Client

from billing.forms import PaymentForm
from billing.models import Invoice, InvoiceLine, Membership, Payment, Plan, Tab, TabCharge
from billing.services import LineInput, invoice_draft_create, invoice_issue, memberships_advance
from outbox.models import OutboxEmail
from tests.billing.factories import BillingSettingsFactory, PlanFactory
from tests.concurrency import calls_at_once
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory, StaffUserFactory

CREATED_ALREADY = "was created already from this page, so it was not created again."


def add_page_data(client, model: str, **typed) -> dict:
    """What `model`'s add page, shown now, posts with `typed` filled in, its sent-once token read from the page."""
    page = client.get(f"/admin/billing/{model}/add/")
    [token] = re.findall(r'name="sent_once_token" value="([^"]+)"', page.content.decode())
    return {**admin_page_data(page), "sent_once_token": token, **typed}


def saved_twice(client, model: str, data: dict):
    """The add page saved, then saved again (a double click, or the browser sending it again): the second answer."""
    url = f"/admin/billing/{model}/add/"
    first = client.post(url, data, follow=True)
    assert "was added successfully" in first.content.decode(), re.findall(r"errorlist.*?</ul>", first.content.decode())
    return client.post(url, data, follow=True)


def assert_landed_on(again, created) -> None:
    """The second save wrote and logged nothing: it shows what the first created, and says so."""
    opts = created._meta
    assert again.redirect_chain == [(f"/admin/billing/{opts.model_name}/{created.pk}/change/", 302)]
    assert f"The {opts.verbose_name} “{created}” {CREATED_ALREADY}" in again.content.decode()
    assert "added successfully" not in again.content.decode()
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1


def draft_typed(customer) -> dict:
    return {"customer": customer.pk, "lines-0-description": "Double room", "lines-0-unit_price": "80"}


def tab_typed(customer) -> dict:
    return {
        "customer": customer.pk,
        "title": "Stay, room 12",
        "charges-0-description": "Minibar",
        "charges-0-unit_price": "8.50",
    }


def membership_typed(customer) -> dict:
    plan = PlanFactory(organisation=customer.organisation)
    return {"customer": customer.pk, "plan": plan.pk, "status": "active", "started_on": "2027-01-31"}


def payment_typed(customer, amount: str = "50.00") -> dict:
    invoice = invoice_issue(invoice=invoice_draft_create(customer=customer, lines=[LineInput("Room", Decimal(220))]))
    return {"invoice": invoice.pk, "amount": amount, "paid_on": "2026-03-02", "method": "cash"}


def test_a_draft_saved_twice_is_one_draft_with_its_lines_so_issuing_drafts_emails_one_invoice(
    admin_client, customer, billing_settings
):
    again = saved_twice(admin_client, "invoice", add_page_data(admin_client, "invoice", **draft_typed(customer)))

    draft = Invoice.objects.get()
    assert_landed_on(again, draft)
    assert list(InvoiceLine.objects.values_list("invoice", "description")) == [(draft.pk, "Double room")]
    admin_client.post("/admin/billing/invoice/", {"action": "issue_drafts", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.total) == ("open", 1, Decimal("80.00"))
    assert OutboxEmail.objects.filter(template="billing/emails/invoice_issued").count() == 1


def test_a_draft_added_from_another_pages_plus_and_saved_twice_still_fills_that_pages_field(
    admin_client, customer, billing_settings
):
    url = "/admin/billing/invoice/add/?_to_field=id&_popup=1"
    page = admin_client.get(url)
    [token] = re.findall(r'name="sent_once_token" value="([^"]+)"', page.content.decode())
    data = {
        **admin_page_data(page),
        "sent_once_token": token,
        **draft_typed(customer),
        "_popup": "1",
        "_to_field": "id",
    }

    first, again = admin_client.post(url, data), admin_client.post(url, data)

    draft = Invoice.objects.get()
    for answer in (first, again):
        assert answer.status_code == 200
        assert "popup_response" in answer.content.decode() and f"&quot;value&quot;: &quot;{draft.pk}&quot;" in (
            answer.content.decode()
        )
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1


def test_a_tab_saved_twice_is_one_tab_with_its_charges_so_closing_tabs_emails_one_invoice(
    admin_client, customer, billing_settings
):
    again = saved_twice(admin_client, "tab", add_page_data(admin_client, "tab", **tab_typed(customer)))

    tab = Tab.objects.get()
    assert_landed_on(again, tab)
    assert list(TabCharge.objects.values_list("tab", "description")) == [(tab.pk, "Minibar")]
    admin_client.post("/admin/billing/tab/", {"action": "close_tabs", "_selected_action": [tab.pk]})
    assert Invoice.objects.get().total == Decimal("8.50")
    assert OutboxEmail.objects.filter(template="billing/emails/invoice_issued").count() == 1
    # A page shown afresh is a new sending: the same words from it open a second tab.
    admin_client.post("/admin/billing/tab/add/", add_page_data(admin_client, "tab", **tab_typed(customer)))
    assert Tab.objects.filter(title="Stay, room 12").count() == 2


def test_a_membership_saved_twice_is_one_membership_so_its_customer_is_reminded_once(admin_client, customer):
    again = saved_twice(
        admin_client, "membership", add_page_data(admin_client, "membership", **membership_typed(customer))
    )

    membership = Membership.objects.get()
    assert_landed_on(again, membership)
    assert (membership.organisation, membership.period_ends_on) == (customer.organisation, datetime.date(2027, 2, 28))
    assert memberships_advance(today=datetime.date(2027, 2, 25)).reminded == 1
    assert OutboxEmail.objects.filter(template="billing/emails/membership_renews", to=customer.email).count() == 1


def test_a_payment_saved_twice_lands_on_the_payment_it_recorded(admin_client, customer, billing_settings):
    again = saved_twice(admin_client, "payment", add_page_data(admin_client, "payment", **payment_typed(customer)))

    payment = Payment.objects.get()
    assert_landed_on(again, payment)
    assert payment.invoice.amount_due == Decimal("170.00")
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1


@pytest.mark.parametrize(("amount", "due_after"), [("220.00", "0.00"), ("150.00", "70.00")])
def test_a_payment_saved_twice_lands_on_it_though_it_left_less_due_than_the_page_says(
    admin_client, customer, billing_settings, amount, due_after
):
    # Paid in full, the invoice is no longer offered; paid mostly, less is due than the page asks to record.
    data = add_page_data(admin_client, "payment", **payment_typed(customer, amount))

    again = saved_twice(admin_client, "payment", data)

    payment = Payment.objects.get()
    assert_landed_on(again, payment)
    assert "errorlist" not in again.content.decode()
    assert payment.invoice.amount_due == Decimal(due_after)
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1


def test_a_payment_page_sent_again_lands_on_its_payment_whatever_else_it_says(admin_client, customer, billing_settings):
    data = add_page_data(admin_client, "payment", **payment_typed(customer, "220.00"))
    admin_client.post("/admin/billing/payment/add/", data, follow=True)

    again = admin_client.post("/admin/billing/payment/add/", {**data, "amount": "1.005", "method": ""}, follow=True)

    assert_landed_on(again, Payment.objects.get())


def test_a_page_sent_again_for_another_customer_creates_nothing(admin_client, customer, other_organisation):
    data = add_page_data(admin_client, "tab", **tab_typed(customer))
    admin_client.post("/admin/billing/tab/add/", data)
    elsewhere = CustomerFactory(organisation=other_organisation)

    again = admin_client.post("/admin/billing/tab/add/", {**data, "customer": elsewhere.pk})

    tab = Tab.objects.get()
    assert again["Location"] == f"/admin/billing/tab/{tab.pk}/change/"
    assert (tab.customer, tab.organisation) == (customer, customer.organisation)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("model", "typed", "created", "with_it", "emailed"),
    [
        ("invoice", draft_typed, Invoice, InvoiceLine, 0),
        ("tab", tab_typed, Tab, TabCharge, 0),
        ("membership", membership_typed, Membership, None, 0),
        ("payment", payment_typed, Payment, None, 1),  # its receipt
    ],
)
def test_an_add_page_saved_twice_at_the_same_moment_creates_once(model, typed, created, with_it, emailed):
    staff_user = StaffUserFactory()
    customer = CustomerFactory()
    BillingSettingsFactory(organisation=customer.organisation)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)
    data = add_page_data(clients[0], model, **typed(customer))
    emails_before = OutboxEmail.objects.count()

    answers, errors = calls_at_once(2, lambda: clients.pop().post(f"/admin/billing/{model}/add/", data))

    assert errors == []
    row = created.objects.get()
    # One was added as any is; the other lands on what it added.
    assert sorted((answer.status_code, answer.headers.get("Location", "")) for answer in answers) == [
        (302, f"/admin/billing/{model}/"),
        (302, f"/admin/billing/{model}/{row.pk}/change/"),
    ]
    assert with_it is None or with_it.objects.count() == 1
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1
    assert OutboxEmail.objects.count() - emails_before == emailed


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer")
@pytest.mark.django_db(transaction=True)
def test_a_payment_in_full_saved_twice_at_the_same_moment_lands_both_on_it(monkeypatch):
    staff_user = StaffUserFactory()
    customer = CustomerFactory()
    BillingSettingsFactory(organisation=customer.organisation)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff_user)
    data = add_page_data(clients[0], "payment", **payment_typed(customer, "220.00"))
    # The later sending is checked just after the other recorded the payment, which paid the invoice.
    checking, recorded, full_clean = [], threading.Event(), PaymentForm.full_clean

    def one_checked_after_the_other_recorded(form) -> None:
        if checking:
            assert recorded.wait(timeout=10)
        else:
            checking.append(form)
            transaction.on_commit(recorded.set)
        full_clean(form)

    monkeypatch.setattr(PaymentForm, "full_clean", one_checked_after_the_other_recorded)

    answers, errors = calls_at_once(2, lambda: clients.pop().post("/admin/billing/payment/add/", data))

    assert errors == []
    payment = Payment.objects.get()
    assert sorted((answer.status_code, answer.headers.get("Location", "")) for answer in answers) == [
        (302, "/admin/billing/payment/"),
        (302, f"/admin/billing/payment/{payment.pk}/change/"),
    ]
    assert payment.invoice.status == Invoice.Status.PAID
    assert LogEntry.objects.filter(action_flag=ADDITION).count() == 1
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1


def test_a_plan_saved_twice_is_one_plan(admin_client, organisation):
    typed = {"organisation": organisation.pk, "name": "Club", "price": "30", "currency": "EUR", "period": "month"}

    again = saved_twice(admin_client, "plan", add_page_data(admin_client, "plan", **typed))

    assert_landed_on(again, Plan.objects.get())
