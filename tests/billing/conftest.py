import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.services import LineInput, invoice_draft_create, invoice_issue
from tests.billing.factories import BillingSettingsFactory, PlanFactory


@pytest.fixture
def billing_settings(organisation):
    return BillingSettingsFactory(organisation=organisation)


@pytest.fixture
def make_plan(organisation):
    def _make(**kwargs):
        kwargs.setdefault("organisation", organisation)
        return PlanFactory(**kwargs)

    return _make


@pytest.fixture
def issue(billing_settings, customer):
    """Issue an invoice of `lines` ((description, unit price, quantity, tax %)) to the customer, or to `to`."""

    def _issue(*lines, to=None, today=None, **kwargs):
        inputs = [LineInput(d, Decimal(p), Decimal(q), Decimal(t)) for d, p, q, t in lines] or [
            LineInput("Double room", Decimal("100.00"), Decimal(2), Decimal(10))
        ]
        draft = invoice_draft_create(customer=to or customer, lines=inputs, **kwargs)
        return invoice_issue(invoice=draft, today=today)

    return _issue


def pdf_text(content: bytes) -> str:
    """The text of every page of a PDF, as a reader extracts it."""
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
