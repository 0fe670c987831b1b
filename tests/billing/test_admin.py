"""Staff work billing in the admin: drafts issued by an action, payments recorded through a checked form,
charges added to open tabs only, tabs closed into invoices, memberships started from their first day."""

import datetime
import html
import re
import threading
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from billing.admin import InvoiceAdmin, MembershipAdmin, TabAdmin
from billing.models import Invoice, Membership, Payment, Plan, Tab, TabCharge
from billing.services import (
    LineInput,
    invoice_draft_create,
    invoice_issue,
    membership_start,
    memberships_advance,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
from outbox.models import OutboxEmail
from tests.conftest import admin_page_data
from tests.factories import CustomerFactory, OrganisationFactory


def lines_formset(prefix, rows, total=None):
    data = {
        f"{prefix}-TOTAL_FORMS": str(total if total is not None else len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def test_staff_write_a_draft_then_issue_it(admin_client, customer, billing_settings):
    response = admin_client.post(
        "/admin/billing/invoice/add/",
        {
            "customer": customer.pk,
            "booking_reference": "",
            "currency": "",
            **lines_formset("lines", [{"description": "Room", "quantity": "2", "unit_price": "80", "tax_rate": "10"}]),
            **lines_formset("payments", []),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = Invoice.objects.get()
    assert (draft.status, draft.organisation, draft.kind) == ("draft", customer.organisation, "invoice")
    assert not OutboxEmail.objects.exists()

    response = admin_client.post(
        "/admin/billing/invoice/", {"action": "issue_drafts", "_selected_action": [draft.pk]}, follow=True
    )
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.total) == ("open", 1, Decimal("176.00"))
    assert f"Issued Invoice 000001 to {customer.email}." in response.content.decode()
    assert OutboxEmail.objects.filter(template="billing/emails/invoice_issued").count() == 1


def test_an_issued_invoice_shows_its_lines_read_only_and_offers_a_payment(admin_client, issue):
    invoice = issue()
    html = admin_client.get(f"/admin/billing/invoice/{invoice.pk}/change/").content.decode()
    assert 'name="lines-0-description"' not in html
    assert "Double room" in html
    assert f"/admin/billing/payment/add/?invoice={invoice.pk}" in html


def test_a_payment_recorded_by_staff_makes_a_receipt(admin_client, issue, staff_user):
    invoice = issue()  # 220.00
    response = admin_client.post(
        "/admin/billing/payment/add/",
        {
            "invoice": invoice.pk,
            "amount": "100.00",
            "paid_on": "2026-03-02",
            "method": "bank_transfer",
            "reference": "T1",
        },
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.recorded_by, payment.reference) == (Decimal("100.00"), staff_user, "T1")
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("120.00")
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1
    assert admin_client.get(f"/admin/billing/payment/{payment.pk}/change/").status_code == 200  # shown, read-only
    assert admin_client.post(f"/admin/billing/payment/{payment.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.parametrize(
    ("currency", "amount", "error"),
    [
        ("EUR", "220.01", "Only 220.00 EUR is due"),
        ("EUR", "1.005", "EUR has 2 decimals"),
        ("EUR", "0", "A payment is more than nothing: at least 0.01 EUR."),
        ("JPY", "-5", "A payment is more than nothing: at least 1 JPY."),
    ],
)
def test_a_payment_that_does_not_fit_is_refused_with_the_reason(admin_client, issue, currency, amount, error):
    invoice = issue(currency=currency)
    response = admin_client.post(
        "/admin/billing/payment/add/",
        {"invoice": invoice.pk, "amount": amount, "paid_on": "2026-03-02", "method": "cash", "reference": ""},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert "greater than or equal to" not in response.content.decode()
    assert not Payment.objects.exists()


def test_a_paid_invoice_can_not_be_chosen_for_a_payment(admin_client, issue):
    invoice = issue(("Room", "10", "1", "0"))
    payment_record(invoice=invoice, amount=Decimal(10), paid_on=datetime.date(2026, 3, 1), method="cash")
    response = admin_client.post(
        "/admin/billing/payment/add/",
        {"invoice": invoice.pk, "amount": "1", "paid_on": "2026-03-02", "method": "cash", "reference": ""},
    )
    assert "Select a valid choice" in response.content.decode()
    assert Payment.objects.count() == 1


def test_a_credit_note_is_written_against_an_invoice_and_issued(admin_client, issue, customer):
    invoice = issue()  # 220.00
    admin_client.post(
        "/admin/billing/invoice/add/",
        {
            "customer": customer.pk,
            "credits": invoice.pk,
            **lines_formset(
                "lines", [{"description": "Goodwill", "quantity": "1", "unit_price": "20", "tax_rate": "10"}]
            ),
            **lines_formset("payments", []),
        },
    )
    note = Invoice.objects.get(kind="credit_note")
    admin_client.post("/admin/billing/invoice/", {"action": "issue_drafts", "_selected_action": [note.pk]})
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("198.00")


def test_voiding_from_the_list(admin_client, issue):
    invoice = issue()
    response = admin_client.post(
        "/admin/billing/invoice/", {"action": "void_invoices", "_selected_action": [invoice.pk]}, follow=True
    )
    invoice.refresh_from_db()
    assert invoice.status == "void"
    assert "Voided Invoice 000001 with Credit note 000002." in response.content.decode()


def test_staff_add_charges_to_an_open_tab_and_close_it_into_an_invoice(admin_client, customer, billing_settings):
    tab = tab_open(customer=customer, title="Stay, room 12")
    url = f"/admin/billing/tab/{tab.pk}/change/"
    data = admin_page_data(admin_client.get(url))
    data.update({"charges-0-description": "Minibar", "charges-0-quantity": "2", "charges-0-unit_price": "8.50"})
    response = admin_client.post(url, data)
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode())
    assert [c.description for c in tab.charges.all()] == ["Minibar"]

    admin_client.post("/admin/billing/tab/", {"action": "close_tabs", "_selected_action": [tab.pk]})
    tab.refresh_from_db()
    assert tab.status == Tab.Status.CLOSED
    assert tab.invoice.total == Decimal("17.00")
    html = admin_client.get(f"/admin/billing/tab/{tab.pk}/change/").content.decode()
    assert 'name="charges-0-description"' not in html  # a closed tab takes no more charges


def test_a_membership_started_by_staff_renews_a_period_after_its_start(admin_client, customer, make_plan):
    plan = make_plan()
    response = admin_client.post(
        "/admin/billing/membership/add/",
        {"customer": customer.pk, "plan": plan.pk, "status": "active", "started_on": "2027-01-31"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get()
    assert (membership.organisation, membership.period_ends_on) == (customer.organisation, datetime.date(2027, 2, 28))


@pytest.mark.parametrize(
    "model", ["invoice", "payment", "tab", "plan", "membership", "billingsettings", "billingprofile"]
)
def test_every_list_and_add_page_opens(admin_client, model, issue):
    issue()
    assert admin_client.get(f"/admin/billing/{model}/").status_code == 200
    assert admin_client.get(f"/admin/billing/{model}/add/").status_code == 200


def test_a_draft_can_be_changed_until_it_is_issued(admin_client, customer, billing_settings):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Room", Decimal(5))])
    html = admin_client.get(f"/admin/billing/invoice/{draft.pk}/change/").content.decode()
    assert 'name="lines-0-description"' in html


def test_a_draft_can_not_be_moved_to_another_organisations_customer(admin_client, customer, billing_settings):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Room", Decimal(5))])
    elsewhere = CustomerFactory(organisation=OrganisationFactory())

    response = admin_client.post(
        f"/admin/billing/invoice/{draft.pk}/change/",
        {
            "customer": elsewhere.pk,
            "booking_reference": "",
            "currency": "",
            **lines_formset("lines", []),
            **lines_formset("payments", []),
        },
    )

    assert response.status_code == 200
    assert "This customer is another organisation's: choose one of the invoice's." in html.unescape(
        response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.customer == customer


def test_a_membership_can_not_be_of_another_organisations_plan(admin_client, customer, make_plan):
    plan = make_plan(organisation=OrganisationFactory())

    response = admin_client.post(
        "/admin/billing/membership/add/",
        {"customer": customer.pk, "plan": plan.pk, "status": "active", "started_on": "2027-01-31"},
    )

    assert response.status_code == 200
    assert "This plan is another organisation's: choose one of the customer's." in html.unescape(
        response.content.decode()
    )
    assert not Membership.objects.exists()


def test_an_issued_invoice_can_not_be_deleted_but_a_draft_can(admin_client, issue, customer, billing_settings):
    issued = issue()
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Room", Decimal(5))])

    assert admin_client.get(f"/admin/billing/invoice/{issued.pk}/delete/").status_code == 403
    assert "delete_selected" not in admin_client.get("/admin/billing/invoice/").content.decode()
    response = admin_client.post(f"/admin/billing/invoice/{draft.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert list(Invoice.objects.values_list("pk", flat=True)) == [issued.pk]


def test_a_payment_form_sent_twice_records_one_payment_and_one_receipt(admin_client, issue):
    invoice = issue()  # 220.00
    page = admin_client.get(f"/admin/billing/payment/add/?invoice={invoice.pk}").content.decode()
    entry = re.search(r'name="sent_once_token" value="([^"]+)"', page).group(1)
    form = {
        "invoice": invoice.pk,
        "amount": "50.00",
        "paid_on": "2026-03-02",
        "method": "cash",
        "sent_once_token": entry,
    }

    assert admin_client.post("/admin/billing/payment/add/", form).status_code == 302
    assert admin_client.post("/admin/billing/payment/add/", form).status_code == 302  # the double click

    invoice.refresh_from_db()
    assert Payment.objects.count() == 1 and invoice.amount_due == Decimal("170.00")
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1
    # Another form (another payment of the same amount, as happens) is recorded.
    again = admin_client.get("/admin/billing/payment/add/").content.decode()
    other = re.search(r'name="sent_once_token" value="([^"]+)"', again).group(1)
    admin_client.post("/admin/billing/payment/add/", {**form, "sent_once_token": other})
    assert Payment.objects.count() == 2


def test_staff_who_may_only_view_invoices_can_neither_issue_nor_void_them(
    staff_client_with, customer, billing_settings
):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Room", Decimal(5))])
    viewer = staff_client_with("billing.view_invoice")

    page = viewer.get("/admin/billing/invoice/").content.decode()
    for action in ("issue_drafts", "void_invoices"):
        viewer.post("/admin/billing/invoice/", {"action": action, "_selected_action": [draft.pk]})

    assert "issue_drafts" not in page and "void_invoices" not in page
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert not OutboxEmail.objects.exists()


def test_staff_who_may_only_view_tabs_can_not_close_them(staff_client_with, customer, billing_settings):
    tab = tab_open(customer=customer, title="Stay")
    viewer = staff_client_with("billing.view_tab")

    page = viewer.get("/admin/billing/tab/").content.decode()
    viewer.post("/admin/billing/tab/", {"action": "close_tabs", "_selected_action": [tab.pk]})

    assert "close_tabs" not in page
    tab.refresh_from_db()
    assert (tab.status, tab.invoice) == (Tab.Status.OPEN, None)


def test_a_charge_typed_on_a_tab_closed_meanwhile_comes_back_with_the_error(admin_client, customer, billing_settings):
    tab = tab_open(customer=customer, title="Stay")
    tab_charge_add(tab=tab, charge=LineInput("Room", Decimal(100)))
    url = f"/admin/billing/tab/{tab.pk}/change/"
    page = admin_client.get(url)
    data = admin_page_data(page)
    data.update({"charges-1-description": "Minibar", "charges-1-quantity": "1", "charges-1-unit_price": "30"})
    tab_close(tab=tab)  # by a colleague

    response = admin_client.post(url, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "was closed meanwhile: add these charges to a new tab or an invoice." in html
    assert 'value="Minibar"' in html
    assert not TabCharge.objects.filter(description="Minibar").exists()


def test_the_payments_list_costs_the_same_queries_however_many_payments(
    admin_client, issue, staff_user, django_assert_max_num_queries
):
    def record():
        payment_record(
            invoice=issue(),
            amount=Decimal("1.00"),
            paid_on=datetime.date(2026, 1, 1),
            method="card",
            recorded_by=staff_user,
        )

    record()
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/admin/billing/payment/")
    for _ in range(5):
        record()

    with django_assert_max_num_queries(len(one)):
        response = admin_client.get("/admin/billing/payment/")

    assert response.context["cl"].result_count == 6
    assert response.content.decode().count(f">{staff_user.get_username()}</td>") == 6


def test_a_payment_refused_as_it_is_recorded_shows_the_form_again_and_logs_nothing(admin_client, issue, monkeypatch):
    invoice = issue()

    def refused(**kwargs):
        raise ValidationError(f"Payments are recorded against open invoices; {invoice} is void.")

    monkeypatch.setattr("billing.admin.payment_record", refused)

    response = admin_client.post(
        "/admin/billing/payment/add/",
        {
            "invoice": invoice.pk,
            "amount": "10.00",
            "paid_on": "2026-03-02",
            "method": "bank_transfer",
            "reference": "T1",
        },
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert f"Payments are recorded against open invoices; {invoice} is void." in html
    assert 'value="T1"' in html
    assert not Payment.objects.exists()
    assert not LogEntry.objects.exists()


def test_the_payment_form_suggests_today_where_the_invoices_organisation_is(admin_client, issue, organisation):
    organisation.time_zone = "Pacific/Auckland"
    organisation.save()
    with time_machine.travel(datetime.datetime(2026, 3, 1, 19, 30, tzinfo=datetime.UTC)):  # 08:30 on 2 March there
        invoice = issue()
        response = admin_client.get("/admin/billing/payment/add/", {"invoice": invoice.pk})

    assert invoice.issued_on == datetime.date(2026, 3, 2)
    assert response.context["adminform"].form.initial["paid_on"] == datetime.date(2026, 3, 2)


def test_drafts_too_large_to_issue_are_named_and_the_others_issued(admin_client, customer, billing_settings):
    huge = invoice_draft_create(customer=customer, lines=[LineInput("Yacht", Decimal("99999999999"), Decimal(10))])
    fine = invoice_draft_create(customer=customer, lines=[LineInput("Night", Decimal("80"))])

    response = admin_client.post(
        "/admin/billing/invoice/", {"action": "issue_drafts", "_selected_action": [huge.pk, fine.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "more than an invoice can hold" in response.content.decode()
    huge.refresh_from_db()
    fine.refresh_from_db()
    assert (huge.status, fine.status) == (Invoice.Status.DRAFT, Invoice.Status.OPEN)


def test_a_tab_too_large_to_invoice_stays_open_and_says_why(admin_client, customer, billing_settings):
    tab = tab_open(customer=customer, title="Marina")
    tab_charge_add(tab=tab, charge=LineInput("Berth", Decimal("50000000000"), Decimal(3)))

    response = admin_client.post(
        "/admin/billing/tab/", {"action": "close_tabs", "_selected_action": [tab.pk]}, follow=True
    )

    assert "more than an invoice can hold" in response.content.decode()
    tab.refresh_from_db()
    assert tab.status == Tab.Status.OPEN
    assert not Invoice.objects.exists()


CHANGED_MEANWHILE = "was changed by someone else while this page was open, so your changes were not saved."


def committed_meanwhile(monkeypatch, admin_class, write):
    """`write` commits, on a connection of its own, after the admin's POST read the row and before it saves it: a
    colleague, the customer or the daily command at the same moment as the Save."""
    real = admin_class.get_object
    failures: list[Exception] = []

    def written_once_read(self, request, object_id, from_field=None):
        row = real(self, request, object_id, from_field)
        if request.method == "POST" and not hasattr(written_once_read, "done"):
            written_once_read.done = True  # type: ignore[attr-defined]
            elsewhere = threading.Thread(target=_on_its_own_connection, args=(write, failures))
            elsewhere.start()
            elsewhere.join()
        return row

    monkeypatch.setattr(admin_class, "get_object", written_once_read)
    return failures


def _on_its_own_connection(write, failures):
    try:
        write()
    except Exception as error:
        failures.append(error)
    finally:
        connections.close_all()


def assert_refused_as_changed_meanwhile(admin_client, url, data):
    response = admin_client.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert CHANGED_MEANWHILE in html.unescape(response.content.decode())
    assert not LogEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_issued_invoice_saved_as_shown_keeps_the_payment_recorded_meanwhile(admin_client, monkeypatch, issue):
    invoice = issue(("Night", "80", "1", "0"))
    url = f"/admin/billing/invoice/{invoice.pk}/change/"
    data = admin_page_data(admin_client.get(url))
    failures = committed_meanwhile(
        monkeypatch,
        InvoiceAdmin,
        lambda: payment_record(invoice=invoice, amount=Decimal(80), paid_on=datetime.date(2026, 3, 1), method="cash"),
    )

    assert_refused_as_changed_meanwhile(admin_client, url, data)

    assert not failures
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == ("paid", Decimal(80), Decimal(0))
    assert OutboxEmail.objects.filter(template="billing/emails/payment_received").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_draft_saved_while_a_colleague_issues_it_stays_issued(admin_client, monkeypatch, customer, billing_settings):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Night", Decimal(80))])
    url = f"/admin/billing/invoice/{draft.pk}/change/"
    data = {**admin_page_data(admin_client.get(url)), "booking_reference": "B-1"}
    failures = committed_meanwhile(monkeypatch, InvoiceAdmin, lambda: invoice_issue(invoice=draft))

    assert_refused_as_changed_meanwhile(admin_client, url, data)

    assert not failures
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.total, draft.booking_reference) == ("open", 1, Decimal(80), "")
    assert OutboxEmail.objects.filter(template="billing/emails/invoice_issued").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_tab_renamed_while_a_colleague_closes_it_stays_closed(admin_client, monkeypatch, customer, billing_settings):
    tab = tab_open(customer=customer, title="Room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal(12)))
    url = f"/admin/billing/tab/{tab.pk}/change/"
    data = {**admin_page_data(admin_client.get(url)), "title": "Room 12 (Smith)"}
    failures = committed_meanwhile(monkeypatch, TabAdmin, lambda: tab_close(tab=tab))

    assert_refused_as_changed_meanwhile(admin_client, url, data)

    assert not failures
    tab.refresh_from_db()
    assert (tab.status, tab.title, tab.invoice.number) == ("closed", "Room 12", 1)
    with pytest.raises(ValidationError, match="is closed already"):
        tab_close(tab=tab)


@pytest.mark.django_db(transaction=True)
def test_a_membership_saved_while_the_daily_command_reminds_is_reminded_once(
    admin_client, monkeypatch, customer, make_plan
):
    membership = membership_start(customer=customer, plan=make_plan(), started_on=datetime.date(2026, 1, 10))
    url = f"/admin/billing/membership/{membership.pk}/change/"
    data = admin_page_data(admin_client.get(url))
    failures = committed_meanwhile(
        monkeypatch, MembershipAdmin, lambda: memberships_advance(today=datetime.date(2026, 2, 5))
    )

    assert_refused_as_changed_meanwhile(admin_client, url, data)

    assert not failures
    membership.refresh_from_db()
    assert membership.reminded_for == datetime.date(2026, 2, 10)
    memberships_advance(today=datetime.date(2026, 2, 6))
    assert OutboxEmail.objects.filter(template="billing/emails/membership_renews").count() == 1


def test_a_page_left_open_while_the_invoice_was_paid_is_refused_and_shown_as_it_is_now(admin_client, issue):
    invoice = issue(("Night", "80", "1", "0"))
    url = f"/admin/billing/invoice/{invoice.pk}/change/"
    data = admin_page_data(admin_client.get(url))
    payment_record(invoice=invoice, amount=Decimal(30), paid_on=datetime.date(2026, 3, 1), method="cash")

    assert_refused_as_changed_meanwhile(admin_client, url, data)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("open", Decimal(30))


def test_a_membership_saved_by_staff_writes_only_what_they_changed(admin_client, customer, make_plan):
    membership = membership_start(customer=customer, plan=make_plan(), started_on=datetime.date(2026, 1, 10))
    url = f"/admin/billing/membership/{membership.pk}/change/"
    data = {**admin_page_data(admin_client.get(url)), "status": "cancelled"}

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(url, data)

    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.status, membership.period_ends_on) == ("cancelled", datetime.date(2026, 2, 10))
    [update] = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "billing_membership"')]
    assert update.startswith('UPDATE "billing_membership" SET "status" = ')


def test_a_membership_whose_first_period_would_end_after_9999_is_refused(admin_client, customer, make_plan):
    plan = make_plan()
    typed = {"customer": customer.pk, "plan": plan.pk, "status": "active", "started_on": "9999-12-15"}

    response = admin_client.post("/admin/billing/membership/add/", typed)

    assert response.status_code == 200
    refusal = "Its first period would end after 9999: choose the day it really started."
    assert refusal in html.unescape(response.content.decode())
    assert not Membership.objects.exists()

    membership = membership_start(customer=customer, plan=plan, started_on=datetime.date(2026, 1, 1))
    url = f"/admin/billing/membership/{membership.pk}/change/"
    response = admin_client.post(url, {**admin_page_data(admin_client.get(url)), "started_on": "9999-12-15"})

    assert response.status_code == 200
    assert refusal in html.unescape(response.content.decode())
    membership.refresh_from_db()
    assert membership.started_on == datetime.date(2026, 1, 1)


@pytest.mark.parametrize("benefits", ["5", '"Free breakfast"', '{"breakfast": true}', '["Free breakfast", 2]'])
def test_a_plan_whose_benefits_are_not_a_list_of_texts_is_refused(admin_client, organisation, benefits):
    typed = {"organisation": organisation.pk, "name": "Club", "price": "30", "currency": "EUR", "period": "month"}

    response = admin_client.post("/admin/billing/plan/add/", {**typed, "benefits": benefits})

    assert response.status_code == 200
    assert 'A list of texts, each in double quotes: ["Free breakfast", "Late check-out"].' in html.unescape(
        response.content.decode()
    )
    assert not Plan.objects.exists()
    response = admin_client.post("/admin/billing/plan/add/", {**typed, "benefits": '["Free breakfast"]'})
    assert response.status_code == 302
    assert Plan.objects.get().benefits == ["Free breakfast"]
