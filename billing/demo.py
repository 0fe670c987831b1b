import datetime
from decimal import Decimal
from typing import TextIO

from billing.models import BillingSettings, Invoice, Membership, Plan, Tab
from billing.services import (
    LineInput,
    invoice_draft_create,
    invoice_issue,
    membership_start,
    payment_record,
    tab_charge_add,
    tab_open,
)
from portal_auth.models import Customer, Organisation


def seed_demo(*, organisation: Organisation, stdout: TextIO) -> None:
    """An organisation's billing details, two invoices (one paid), an open tab and a membership for Alice."""
    BillingSettings.objects.get_or_create(
        organisation=organisation,
        defaults={
            "legal_name": f"{organisation.name} Ltd",
            "address": "1 Harbour Street\nLisbon 1100-001\nPortugal",
            "tax_number": "PT 500 000 000",
            "payment_instructions": "Bank transfer to IBAN PT50 0000 0000 0000 0000 0000 0,"
            " quoting the invoice number.",
        },
    )
    alice = Customer.objects.filter(organisation=organisation, email="alice@example.com").first()
    if alice is None:
        stdout.write("  billing: no alice@example.com to bill")
        return
    if Invoice.objects.filter(customer=alice).exists():
        stdout.write("  billing: alice@example.com has invoices already")
        return
    today = datetime.date.today()
    room = LineInput("Double room, 2 nights", Decimal("120.00"), Decimal(2), Decimal(6))
    dinner = LineInput("Dinner for two", Decimal("64.50"), Decimal(1), Decimal(13))
    paid = invoice_issue(invoice=invoice_draft_create(customer=alice, lines=[room, dinner]), today=today)
    payment_record(invoice=paid, amount=paid.total, paid_on=today, method="card", reference="POS 4471")
    invoice_issue(invoice=invoice_draft_create(customer=alice, lines=[LineInput("Airport transfer", Decimal(45))]))
    tab = tab_open(customer=alice, title="Stay at the harbour hotel, room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal("8.50"), Decimal(2), Decimal(23)))
    plan, _ = Plan.objects.get_or_create(
        organisation=organisation,
        name="Voyager Club",
        defaults={
            "price": Decimal(30),
            "benefits": ["Free breakfast", "Late check-out", "10 % off every add-on"],
        },
    )
    if not Membership.objects.filter(customer=alice).exists():
        membership_start(customer=alice, plan=plan, started_on=today - datetime.timedelta(days=20))
    tabs = Tab.objects.filter(customer=alice).count()
    stdout.write(f"  billing: 2 invoices, {tabs} open tab and a membership for alice@example.com")
