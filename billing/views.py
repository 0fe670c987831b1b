from io import BytesIO

from django.core.files import File
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from billing.models import BillingSettings
from billing.pdf import invoice_pdf, invoice_pdf_name, receipt_pdf, receipt_pdf_name
from billing.selectors import (
    get_invoice_for,
    get_payment_for,
    issued_invoices_for,
    memberships_for,
    open_tabs_for,
    receipts_for,
)
from portal_auth.decorators import customer_required
from portal_auth.page_cache import cached_page
from portal_core.uploads import download_response

INVOICES_PER_PAGE = 20

# Every page below shows a customer's own money: never_cache keeps it out of the browser's history cache.


@never_cache
@cached_page
@customer_required
def invoice_list(request, organisation, customer):
    page = Paginator(issued_invoices_for(customer), INVOICES_PER_PAGE).get_page(request.GET.get("page"))
    receipts = receipts_for([invoice.pk for invoice in page.object_list if invoice.amount_paid])
    rows = [(invoice, receipts.get(invoice.pk, [])) for invoice in page.object_list]
    context = {"page": page, "rows": rows, "today": timezone.localdate(), "billing_page": "invoices"}
    return render(request, "billing/invoice_list.html", context)


@never_cache
@cached_page
@customer_required
def tab_detail(request, organisation, customer):
    billing = BillingSettings.for_organisation(organisation)
    tabs = open_tabs_for(customer, currency=billing.currency, rounding=billing.rounding)
    return render(request, "billing/tab_detail.html", {"tabs": tabs, "billing_page": "tab"})


@never_cache
@cached_page
@customer_required
def membership_detail(request, organisation, customer):
    context = {"memberships": memberships_for(customer), "billing_page": "membership"}
    return render(request, "billing/membership_detail.html", context)


@customer_required
def invoice_download(request, organisation, customer, number):
    # No never_cache: the download's own headers keep it out of every cache (private, no-store).
    invoice = get_invoice_for(customer, number)
    return _pdf(invoice_pdf(invoice), invoice_pdf_name(invoice))


@customer_required
def receipt_download(request, organisation, customer, pk):
    payment = get_payment_for(customer, pk)
    return _pdf(receipt_pdf(payment), receipt_pdf_name(payment))


def _pdf(content: bytes, filename: str) -> FileResponse:
    return download_response(File(BytesIO(content)), filename=filename, content_type="application/pdf")
