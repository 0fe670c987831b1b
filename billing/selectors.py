"""What a customer may see of billing: their own issued invoices, receipts, open tab and membership.

Every query starts from the customer (which carries the organisation), so nothing of another customer or
organisation is reachable; what isn't theirs raises LookRefused (a 404, logged), like what doesn't exist.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, IntegerField, QuerySet, Value, When

from billing.models import Invoice, Membership, Payment, Tab, TabCharge
from billing.money import Line, Totals, money_format, running_totals, totals_compute
from portal_auth.access_log import LookRefused
from portal_auth.models import Customer, Organisation, normalise_email

# What the invoice list shows of each; the PDF views load the rest.
_LIST_FIELDS = (
    "pk", "kind", "number", "status", "currency", "issued_on", "due_on", "total", "amount_paid", "amount_credited",
    "credits_id", "booking_reference", "payment_instructions",
)  # fmt: skip


def issued_invoices_for(customer: Customer) -> QuerySet[Invoice]:
    """The customer's issued invoices and credit notes: open ones first (soonest due first), then the rest, newest
    first. Served by the (customer, status, due_on) index."""
    return (
        Invoice.objects.filter(customer=customer, organisation_id=customer.organisation_id)
        .exclude(status=Invoice.Status.DRAFT)
        .annotate(
            open_first=Case(
                When(status=Invoice.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            # The open ones by when they are due; the rest share one value here, so they follow newest first.
            open_due_on=Case(When(status=Invoice.Status.OPEN, then="due_on"), default=None),
        )
        .order_by("open_first", "open_due_on", "-issued_on", "-number")
        .only(*_LIST_FIELDS)
    )


def get_invoice_for(customer: Customer, number: int) -> Invoice:
    try:
        return (
            Invoice.objects.exclude(status=Invoice.Status.DRAFT)
            .select_related("organisation", "customer", "credits")
            .prefetch_related("lines")
            .get(customer=customer, organisation_id=customer.organisation_id, number=number)
        )
    except Invoice.DoesNotExist:
        raise LookRefused(f"invoice {number}") from None


def get_payment_for(customer: Customer, pk: int) -> Payment:
    """A receipt of the customer's, by its payment's id."""
    try:
        return (
            Payment.objects.select_related("invoice__organisation", "invoice__customer")
            .prefetch_related("invoice__payments")
            .get(pk=pk, invoice__customer=customer, invoice__organisation_id=customer.organisation_id)
        )
    except Payment.DoesNotExist:
        raise LookRefused(f"receipt {pk}") from None


def receipts_for(invoice_ids: list[int]) -> dict[int, list[Payment]]:
    """The payments of these invoices (already the customer's), by invoice: one query for a whole list."""
    found: dict[int, list[Payment]] = {}
    payments = Payment.objects.filter(invoice_id__in=invoice_ids).select_related("invoice")
    for payment in payments.only("pk", "invoice_id", "amount", "paid_on", "invoice__currency"):
        found.setdefault(payment.invoice_id, []).append(payment)
    return found


@dataclass(frozen=True)
class TabRow:
    charge: TabCharge
    net: str
    running_total: str  # with tax, so far


@dataclass(frozen=True)
class TabView:
    tab: Tab
    rows: list[TabRow]
    totals: Totals
    currency: str

    def money(self, amount: Decimal) -> str:
        return money_format(amount, self.currency)

    def subtotal(self) -> str:
        return self.money(self.totals.subtotal)

    def tax(self) -> str:
        return self.money(self.totals.tax)

    def total(self) -> str:
        return self.money(self.totals.total)


def open_tabs_for(customer: Customer, *, currency: str, rounding: str) -> list[TabView]:
    """The customer's open tabs with each charge, the running total and the totals the invoice will carry."""
    tabs = (
        Tab.objects.filter(customer=customer, organisation_id=customer.organisation_id, status=Tab.Status.OPEN)
        .prefetch_related("charges")
        .order_by("opened_at", "pk")
    )
    views = []
    for tab in tabs:
        charges = list(tab.charges.all())
        lines = [Line(c.quantity, c.unit_price, c.tax_rate) for c in charges]
        totals = totals_compute(lines, currency=currency, rounding=rounding)
        running = running_totals(lines, currency=currency, rounding=rounding)
        rows = [
            TabRow(charge, money_format(net, currency), money_format(so_far, currency))
            for charge, net, so_far in zip(charges, totals.nets, running, strict=True)
        ]
        views.append(TabView(tab, rows, totals, currency))
    return views


def memberships_for(customer: Customer) -> list[Membership]:
    """The customer's memberships, current ones first; expired ones stay listed after them."""
    current = Case(When(status=Membership.Status.EXPIRED, then=Value(1)), default=Value(0), output_field=IntegerField())
    return list(
        Membership.objects.filter(customer=customer, organisation_id=customer.organisation_id)
        .select_related("plan")
        .annotate(expired_last=current)
        .order_by("expired_last", "-started_on", "pk")
    )


def organisation_bills_email(organisation: Organisation, email: str) -> bool:
    """Whether the organisation has issued an invoice to, keeps an open tab of, or holds a membership of, the customer
    with this email: what their Billing pages show.

    The customer first (by the organisation-and-email index), then their rows by the customer indexes."""
    customers = Customer.objects.filter(organisation=organisation, email=normalise_email(email)).values("pk")
    return (
        Invoice.objects.filter(customer__in=customers).exclude(status=Invoice.Status.DRAFT).exists()
        or Tab.objects.filter(customer__in=customers, status=Tab.Status.OPEN).exists()
        or Membership.objects.filter(customer__in=customers).exists()
    )
