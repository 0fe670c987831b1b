"""Staff issue an invoice and record part of it paid in the admin; the customer downloads the invoice and the
receipt, watches an open tab grow and sees their membership. A real browser, at desktop and phone widths."""

import datetime
import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.services import LineInput, membership_start, tab_charge_add, tab_open
from tests.billing.factories import BillingSettingsFactory, PlanFactory
from tests.e2e.conftest import SCREENSHOTS, check_page
from tests.e2e.test_staff_admin import STAFF_PASSWORD, assert_no_serious_violations
from tests.factories import CUSTOMER_PASSWORD, CustomerFactory, OrganisationFactory, StaffUserFactory

pytestmark = pytest.mark.e2e


def _pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def test_staff_bill_and_the_customer_sees_invoices_receipts_tab_and_membership(browser, page, live_server, viewport):
    organisation = OrganisationFactory(name="Harbour Hotels")
    BillingSettingsFactory(organisation=organisation)
    customer = CustomerFactory(
        organisation=organisation, email="alice@example.com", name="Alice Martin", with_password=True
    )
    membership_start(
        customer=customer, plan=PlanFactory(organisation=organisation), started_on=datetime.date(2027, 2, 1)
    )
    staff = StaffUserFactory(is_superuser=True)
    slug = organisation.slug

    # Staff: a draft with two lines, issued from the list, then 100.00 of it recorded as paid.
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.viewport_name = viewport
    admin.goto(f"{live_server.url}/admin/login/")
    admin.get_by_label("Username").fill(staff.username)
    admin.get_by_label("Password").fill(STAFF_PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_server.url}/admin/billing/invoice/add/")
    admin.locator(".field-customer .select2-selection").click()
    admin.locator(".select2-search__field").fill("alice")
    admin.locator(".select2-results__option", has_text="alice@example.com").click()
    for name, value in {
        "description": "Double room, 2 nights",
        "quantity": "2",
        "unit_price": "120",
        "tax_rate": "6",
    }.items():
        admin.locator(f"[name='lines-0-{name}']").fill(value)
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.wait_for_url(f"{live_server.url}/admin/billing/invoice/")
    admin.locator("input[name='_selected_action']").first.check()
    admin.locator("select[name='action']").select_option("issue_drafts")
    admin.get_by_role("button", name="Run").click()
    assert "Issued Invoice 000001 to alice@example.com." in admin.locator(".messagelist").inner_text()
    admin.get_by_role("link", name="Invoice 000001").click()
    assert_no_serious_violations(admin, "billing-admin-issued-invoice")
    admin.get_by_role("link", name="Record a payment").click()
    admin.get_by_label("Amount").fill("100.00")
    admin.get_by_label("Method").select_option("bank_transfer")
    admin.get_by_label("Reference").fill("TX-4471")
    admin.get_by_role("button", name="Save", exact=True).click()
    assert "was added successfully" in admin.locator(".messagelist").inner_text()
    admin.context.close()

    # The customer signs in and opens Billing.
    page.goto(f"{live_server.url}/{slug}/sign-in/")
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_label("Password").fill(CUSTOMER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Billing").click()
    page.wait_for_url(f"{live_server.url}/{slug}/billing/")
    assert "154.40 EUR due by" in page.locator(".invoice-list").inner_text()
    check_page(page, "billing-1-invoices")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF of invoice 000001").click()
    assert download.value.suggested_filename == "invoice-000001.pdf"
    invoice_file = SCREENSHOTS / f"billing-invoice-{viewport}.pdf"
    download.value.save_as(invoice_file)
    text = _pdf_text(invoice_file)
    assert "254.40 EUR" in text and "Amount due" in text and "154.40 EUR" in text
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Receipt \\(PDF\\) for 100.00 EUR")).click()
    receipt_file = SCREENSHOTS / f"billing-receipt-{viewport}.pdf"
    download.value.save_as(receipt_file)
    assert "TX-4471" in _pdf_text(receipt_file)

    # An open tab grows while the customer watches.
    tab = tab_open(customer=customer, title="Stay, room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal("8.50"), Decimal(2), Decimal(23)))
    page.get_by_role("link", name="Open tab").click()
    assert "20.91 EUR" in page.locator("main").inner_text()
    tab_charge_add(tab=tab, charge=LineInput("Spa", Decimal("40.00"), Decimal(1), Decimal(23)))
    page.reload()
    assert "70.11 EUR" in page.locator("main").inner_text()
    check_page(page, "billing-2-tab")

    page.get_by_role("link", name="Membership").click()
    assert "Renews on 1 March 2027 at 30.00 EUR a month." in page.locator("main").inner_text()
    check_page(page, "billing-3-membership")
