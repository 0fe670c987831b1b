"""The customer's billing pages and downloads: only their own, in the right order, in few queries, always fresh."""

import datetime
import io
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from billing.models import BillingProfile, Membership, Plan, TabCharge
from billing.services import (
    LineInput,
    invoice_draft_create,
    invoice_void,
    membership_start,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
from portal_core import page_cache
from tests.billing.conftest import pdf_text
from tests.billing.factories import BillingSettingsFactory
from tests.factories import CustomerFactory, primary_portal_of
from tests.refusals import USER_AGENT, assert_look_refused

TODAY = datetime.date(2026, 3, 1)


def page(client, customer, path=""):
    response = client.get(f"/{customer.organisation.slug}/billing/{path}", HTTP_USER_AGENT=USER_AGENT)
    return response, response.content.decode()


@pytest.fixture
def client_of(sign_in, customer):
    return sign_in(customer)


# The list ---------------------------------------------------------------------------------------------------


def test_open_invoices_come_first_with_what_is_due_and_when_then_paid_and_void(client_of, customer, issue):
    paid = issue(("Spa", "50.00", "1", "0"), today=TODAY)
    payment_record(invoice=paid, amount=Decimal(50), paid_on=TODAY, method="cash")
    voided = issue(("Cancelled", "10.00", "1", "0"), today=TODAY)
    invoice_void(invoice=voided)  # credit note 000003
    later = issue(("Room", "100.00", "1", "10"), today=TODAY + datetime.timedelta(days=5))
    sooner = issue(("Dinner", "40.00", "1", "0"), today=TODAY)
    payment_record(invoice=sooner, amount=Decimal(15), paid_on=TODAY, method="cash")

    response, html = page(client_of, customer)

    assert response.status_code == 200
    order = [html.index(f"Invoice {n:06d}") for n in (sooner.number, later.number, paid.number)]
    assert order == sorted(order)
    assert "25.00 EUR</span> due by <strong>15 March 2026" in html
    assert "110.00 EUR</span> due by <strong>20 March 2026" in html
    assert "(of 40.00 EUR)" in html
    assert "Credit note 000003" in html
    assert html.count(">Void<") == 1 and html.count(">Paid<") == 1 and html.count(">Applied<") == 1
    assert "Bank transfer to IBAN" in html  # how to pay, with the open invoices
    assert "Payments aren't taken in the portal" in html


def test_twenty_invoices_a_page_open_ones_first(client_of, customer, issue):
    for _ in range(21):
        issue(("Night", "10.00", "1", "0"))
    first = issue(("Due first", "10.00", "1", "0"), today=datetime.date(2020, 1, 1))
    _, html = page(client_of, customer)
    assert html.count("Download PDF<span") == 20
    assert f"Invoice {first.number:06d}" in html
    assert "Page 1 of 2" in html
    _, second = page(client_of, customer, "?page=2")
    assert second.count("Download PDF<span") == 2


def test_an_overdue_invoice_says_so(client_of, customer, issue):
    issue(today=datetime.date(2020, 1, 1))
    assert "Overdue" in page(client_of, customer)[1]


def test_drafts_and_other_customers_invoices_are_not_listed(client_of, customer, other_customer, issue):
    issue(("Someone else's room", "1.00", "1", "0"), to=other_customer)
    invoice_draft_create(customer=customer, lines=[LineInput("Not issued yet", Decimal(5))])
    _, html = page(client_of, customer)
    assert "Someone else's room" not in html and "Invoice 000001" not in html
    assert "No invoices yet." in html


def test_a_signed_out_visitor_is_sent_to_sign_in(client, customer):
    response = client.get(f"/{customer.organisation.slug}/billing/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/{customer.organisation.slug}/sign-in/")


@pytest.mark.parametrize("path", ["", "tab/", "membership/"])
def test_each_page_takes_the_same_few_queries_however_much_there_is(
    client_of, customer, issue, make_plan, path, django_assert_max_num_queries
):
    def grow():
        invoice = issue()
        payment_record(invoice=invoice, amount=Decimal(1), paid_on=TODAY, method="cash")
        tab = tab_open(customer=customer, title="Stay")
        tab_charge_add(tab=tab, charge=LineInput("Bar", Decimal(3)))
        membership_start(customer=customer, plan=make_plan(), started_on=TODAY)

    grow()
    with django_assert_max_num_queries(6) as few:
        page(client_of, customer, path)
    for _ in range(5):
        grow()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert page(client_of, customer, path)[0].status_code == 200


# Downloads --------------------------------------------------------------------------------------------------


def test_the_invoice_pdf_holds_the_right_totals_and_is_the_same_file_each_time(client_of, customer, issue):
    BillingProfile.objects.create(customer=customer, name="Ana Lopes", address="Rua Augusta 1\nLisbon")
    invoice = issue(("Room", "120.00", "2", "6"), ("Dinner", "64.50", "1", "13"), today=TODAY)

    response = client_of.get(f"/{customer.organisation.slug}/billing/invoices/{invoice.number}/pdf/")
    again = client_of.get(f"/{customer.organisation.slug}/billing/invoices/{invoice.number}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="invoice-000001.pdf"')
    assert response["Cache-Control"] == "private, no-store"
    content = b"".join(response.streaming_content)
    assert content == b"".join(again.streaming_content)
    text = pdf_text(content)
    for expected in (
        "Invoice 000001",
        "Voyages",  # the organisation's legal name
        "1 Harbour Street",
        "Tax number: PT 500 100 200",
        "Ana Lopes",
        "Rua Augusta 1",
        "Room",
        "240.00 EUR",
        "Tax 6% on 240.00 EUR",
        "14.40 EUR",
        "Tax 13% on 64.50 EUR",
        "8.39 EUR",
        "327.29 EUR",
        "Open",
        "15 March 2026",
        "Bank transfer to IBAN",
    ):
        assert expected in text, expected


def test_the_receipt_pdf_holds_the_payment(client_of, customer, issue):
    invoice = issue(("Room", "100.00", "1", "10"), today=TODAY)
    first = payment_record(invoice=invoice, amount=Decimal(60), paid_on=TODAY, method="bank_transfer", reference="TX-9")
    payment_record(invoice=invoice, amount=Decimal(50), paid_on=TODAY, method="cash")

    response = client_of.get(f"/{customer.organisation.slug}/billing/receipts/{first.pk}/pdf/")

    assert response.status_code == 200
    text = pdf_text(b"".join(response.streaming_content))
    for expected in ("Receipt for invoice 000001", "60.00 EUR", "Bank transfer", "TX-9", "110.00 EUR"):
        assert expected in text, expected
    assert "Paid to date 60.00 EUR" in text.replace("\n", " ")  # the later payment is not on this receipt


def test_the_logo_is_on_the_pdf(client_of, customer, issue, organisation):
    png = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(png, "PNG")
    primary_portal_of(organisation).logo.save(
        "logo.png", SimpleUploadedFile("logo.png", png.getvalue(), content_type="image/png")
    )
    invoice = issue()
    with_logo = b"".join(
        client_of.get(f"/{organisation.slug}/billing/invoices/{invoice.number}/pdf/").streaming_content
    )
    assert b"/Subtype /Image" in with_logo


def test_a_customer_never_reaches_another_customers_invoice_or_receipt(client_of, customer, other_customer, issue):
    theirs = issue(("Theirs", "10.00", "1", "0"), to=other_customer)
    payment = payment_record(invoice=theirs, amount=Decimal(5), paid_on=TODAY, method="cash")
    slug = customer.organisation.slug

    response = client_of.get(f"/{slug}/billing/invoices/{theirs.number}/pdf/", HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(response, customer=customer, what=f"invoice {theirs.number}")
    response = client_of.get(f"/{slug}/billing/receipts/{payment.pk}/pdf/", HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(response, customer=customer, what=f"receipt {payment.pk}")
    response = client_of.get(f"/{slug}/billing/invoices/999/pdf/", HTTP_USER_AGENT=USER_AGENT)
    assert_look_refused(response, customer=customer, what="invoice 999")


def test_a_draft_and_another_organisations_invoice_are_not_found(client_of, customer, other_organisation, issue):
    draft = invoice_draft_create(customer=customer, lines=[LineInput("Draft", Decimal(5))])
    draft.number = 7  # a number only issued invoices have; a draft still isn't shown
    draft.save()
    elsewhere = CustomerFactory(organisation=other_organisation, email=customer.email)
    BillingSettingsFactory(organisation=other_organisation)
    other = issue(to=elsewhere)
    slug = customer.organisation.slug
    assert client_of.get(f"/{slug}/billing/invoices/7/pdf/").status_code == 404
    assert client_of.get(f"/{slug}/billing/invoices/{other.number}/pdf/").status_code == 404
    assert client_of.get(f"/{other_organisation.slug}/billing/invoices/{other.number}/pdf/").status_code == 302


# The tab and the membership ---------------------------------------------------------------------------------


def test_the_tab_shows_each_charge_and_the_running_total(client_of, customer, billing_settings):
    tab = tab_open(customer=customer, title="Stay, room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal("8.50"), Decimal(2), Decimal(23)))
    tab_charge_add(tab=tab, charge=LineInput("Spa", Decimal("40.00"), Decimal(1), Decimal(23)))
    tab_charge_add(tab=tab, charge=LineInput("Water", Decimal("0.50"), Decimal(10), Decimal(23)))

    _, html = page(client_of, customer, "tab/")

    assert "Stay, room 12" in html
    assert "Minibar × 2" in html
    assert "Water × 10" in html  # not "1E+1"
    assert html.index("20.91 EUR") < html.index("76.26 EUR")  # 17.00 + 23 %, then 62.00 + 23 %
    assert 'Total so far</dt><dd class="price">76.26 EUR' in html

    tab_close(tab=tab)
    assert "You have no open tab." in page(client_of, customer, "tab/")[1]


def test_a_tab_of_thousands_of_charges_shows_their_running_totals_at_once(client_of, customer, billing_settings):
    billing_settings.rounding = "per_rate"
    billing_settings.save()
    tab = tab_open(customer=customer, title="Long stay")
    TabCharge.objects.bulk_create(
        TabCharge(tab=tab, description=f"Charge {i}", unit_price=Decimal("3.33"), tax_rate=Decimal(i % 3 * 10))
        for i in range(3000)
    )

    started = time.perf_counter()
    response, html = page(client_of, customer, "tab/")
    took = time.perf_counter() - started

    assert response.status_code == 200
    assert took < 10, f"{took:.1f} s"  # reckoned again for every charge, it took close to a minute
    # 1,000 charges at each of 0, 10 and 20 %: 9,990.00 net, 333.00 + 666.00 tax, each rate reckoned once.
    assert 'Total so far</dt><dd class="price">10,989.00 EUR' in html
    assert html.count("10,989.00 EUR") == 2  # the last running total is the tab's total


def test_the_membership_says_what_happens_next(client_of, customer, make_plan):
    membership = membership_start(customer=customer, plan=make_plan(), started_on=datetime.date(2027, 2, 1))
    _, html = page(client_of, customer, "membership/")
    assert "Renews on 1 March 2027 at 30.00 EUR a month." in html
    assert "Free breakfast" in html and "Late check-out" in html

    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.CANCELLED)
    page_cache.pages_changed(membership)
    assert "Cancelled: it ends on 1 March 2027 and won't renew." in page(client_of, customer, "membership/")[1]


def test_a_membership_of_a_plan_whose_benefits_are_no_list_shows_none(client_of, customer, make_plan):
    plan = make_plan()
    Plan.objects.filter(pk=plan.pk).update(benefits=5)  # saved before the admin checked them
    membership_start(customer=customer, plan=plan, started_on=datetime.date(2027, 2, 1))

    response, html = page(client_of, customer, "membership/")

    assert response.status_code == 200
    assert "Renews on 1 March 2027" in html
    assert "Benefits" not in html


def test_another_customers_tab_and_membership_are_not_shown(client_of, customer, other_customer, make_plan):
    tab_open(customer=other_customer, title="Not my stay")
    membership_start(customer=other_customer, plan=make_plan(name="Not my plan"), started_on=TODAY)
    assert "Not my stay" not in page(client_of, customer, "tab/")[1]
    assert "Not my plan" not in page(client_of, customer, "membership/")[1]
