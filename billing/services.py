"""Writes of the billing app: issuing, paying and crediting invoices, tabs, memberships. Each is atomic and
sends its email through the outbox in the same transaction."""

import datetime
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.text import Truncator

from billing.dates import period_end_after
from billing.models import (
    BillingProfile,
    BillingSettings,
    Invoice,
    InvoiceLine,
    InvoiceNumberCounter,
    Membership,
    Payment,
    Plan,
    Tab,
    TabCharge,
)
from billing.money import Line, Rounding, Totals, money_format, money_round, totals_compute
from billing.pdf import invoice_pdf, invoice_pdf_name, receipt_pdf, receipt_pdf_name
from outbox.services import EmailAttachment, email_enqueue
from portal_auth.doors.access_link.services import notification_link_make
from portal_auth.models import Customer, Organisation
from portal_auth.portals import customer_page
from portal_core.sent_once import CreatedAlready, create_once

logger = logging.getLogger(__name__)

PDF = "application/pdf"
# Amounts are stored with 14 digits, 3 of them decimals.
LARGEST_AMOUNT = 10**11
LINE_DESCRIPTION_LENGTH: int = InvoiceLine._meta.get_field("description").max_length  # type: ignore[assignment]


def _locked[M: models.Model](queryset: QuerySet[M], pk: int) -> M:
    """The row, locked until the transaction ends; only it: the rows it is read with (its organisation, its
    customer) stay free for the organisation's other writes, which would otherwise wait on this one's PDF."""
    return queryset.select_for_update(of=("self",)).get(pk=pk)


@dataclass(frozen=True)
class LineInput:
    description: str
    unit_price: Decimal
    quantity: Decimal = Decimal(1)
    tax_rate: Decimal = Decimal(0)


def _link(customer: Customer, route: str = "billing:list") -> tuple[dict, tuple[str, ...]]:
    link = notification_link_make(customer=customer, next_path=customer_page(customer, route))
    return link.context(), tuple(link.secrets)


# ---------------------------------------------------------------------------------------------
# Invoices


@transaction.atomic
def invoice_number_take(*, organisation: Organisation) -> int:
    """The organisation's next invoice number. The counter stays locked until the caller's transaction ends, so an
    invoice that fails to be issued gives its number back: numbers have no gaps."""
    highest = Invoice.objects.filter(organisation=organisation).aggregate(n=Max("number"))["n"] or 0
    InvoiceNumberCounter.objects.get_or_create(organisation=organisation, defaults={"last_number": highest})
    counter = InvoiceNumberCounter.objects.select_for_update().get(organisation=organisation)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


@transaction.atomic
def invoice_draft_create(
    *,
    customer: Customer,
    lines: Sequence[LineInput],
    booking_reference: str = "",
    credits: Invoice | None = None,
    source: str = "",
    currency: str = "",
) -> Invoice:
    invoice = Invoice.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        kind=Invoice.Kind.CREDIT_NOTE if credits else Invoice.Kind.INVOICE,
        credits=credits,
        booking_reference=booking_reference,
        source=source,
        currency=credits.currency if credits else currency,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=Truncator(line.description).chars(LINE_DESCRIPTION_LENGTH),
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
        )
        for position, line in enumerate(lines)
    )
    return invoice


def invoice_draft_add_by_staff(*, invoice: Invoice, request_token: str = "") -> None:
    """Save a draft staff wrote on the admin's add page, in its customer's organisation.

    Raises CreatedAlready, creating nothing, if the same add page (`request_token`) created a draft before."""
    invoice.organisation_id = invoice.customer.organisation_id
    create_once(invoice, request_token=request_token)


@transaction.atomic
def invoice_issue(*, invoice: Invoice, today: datetime.date | None = None, rounding: str | None = None) -> Invoice:
    """Fix a draft's totals, give it the next number and email it, PDF attached, to the customer.

    A credit note lowers what is due on the invoice it corrects, and never below nothing; an invoice
    it leaves with nothing paid and nothing due is void. Raises ValidationError for what can't be issued.
    Tax is rounded by the organisation's rule, or by `rounding` where given.
    """
    invoice = _locked(Invoice.objects.select_related("organisation", "customer"), invoice.pk)
    if invoice.status != Invoice.Status.DRAFT:
        raise ValidationError(f"{invoice} is issued already: correct it with a credit note.")
    lines = list(invoice.lines.all())
    if not lines:
        raise ValidationError("An invoice needs at least one line.")
    billing = BillingSettings.for_organisation(invoice.organisation)
    invoice.currency = invoice.currency or billing.currency
    # What it is follows what it credits, however the draft was edited: a credit note is one that names an invoice.
    invoice.kind = Invoice.Kind.CREDIT_NOTE if invoice.credits_id is not None else Invoice.Kind.INVOICE
    totals = totals_compute(
        (Line(line.quantity, line.unit_price, line.tax_rate) for line in lines),
        currency=invoice.currency,
        rounding=rounding or billing.rounding,
    )
    if invoice.is_credit_note and totals.total <= 0:
        raise ValidationError("A credit note takes an amount off an invoice: its total must be above zero.")
    if not invoice.is_credit_note and totals.total < 0:
        raise ValidationError(
            "An invoice's total can't be below zero: write a credit note against the invoice it corrects instead."
        )
    # Every figure stored, each rate's too: with discount lines the total can fit while the tax does not.
    figures = [*totals.nets, totals.subtotal, totals.tax, totals.total]
    figures += [figure for group in totals.taxes for figure in (group.net, group.tax)]
    if any(abs(figure) >= LARGEST_AMOUNT for figure in figures):
        raise ValidationError(
            f"{invoice} comes to more than an invoice can hold ({LARGEST_AMOUNT:,} or more): split it into several."
        )
    for line, net in zip(lines, totals.nets, strict=True):
        line.net = net
    InvoiceLine.objects.bulk_update(lines, ["net"])
    invoice.subtotal, invoice.tax, invoice.total = totals.subtotal, totals.tax, totals.total
    invoice.tax_lines = _tax_lines(totals)
    if invoice.credits_id is not None:
        _credit_apply(invoice)
    today = today or timezone.localdate(timezone=invoice.organisation.zone)
    invoice.number = invoice_number_take(organisation=invoice.organisation)
    invoice.issued_on = today
    invoice.due_on = today + datetime.timedelta(days=billing.days_due)
    invoice.status = Invoice.Status.PAID if invoice.is_credit_note or not invoice.total else Invoice.Status.OPEN
    profile = BillingProfile.objects.filter(customer=invoice.customer).first()
    invoice.bill_to_name = (profile and profile.name) or invoice.customer.name or invoice.customer.email
    invoice.bill_to_address = profile.address if profile else ""
    invoice.bill_to_email = invoice.customer.email
    invoice.issuer_name, invoice.issuer_address = billing.issuer_name(), billing.address
    invoice.issuer_tax_number, invoice.payment_instructions = billing.tax_number, billing.payment_instructions
    invoice.save()
    context, secrets = _link(invoice.customer)
    email_enqueue(
        organisation=invoice.organisation,
        to=invoice.customer.email,
        template="billing/emails/invoice_issued",
        context={"customer": invoice.customer, "invoice": invoice, **context},
        secrets=secrets,
        attachments=[EmailAttachment(invoice_pdf_name(invoice), invoice_pdf(invoice), PDF)],
    )
    return invoice


def _credit_apply(note: Invoice) -> None:
    corrected = Invoice.objects.select_for_update().get(pk=note.credits.pk)  # type: ignore[union-attr]
    if corrected.kind != Invoice.Kind.INVOICE or corrected.status != Invoice.Status.OPEN:
        raise ValidationError(f"A credit note corrects an open invoice; {corrected} is {corrected.status}.")
    if corrected.customer_id != note.customer_id or corrected.currency != note.currency:
        raise ValidationError("A credit note is for the customer and in the currency of the invoice it corrects.")
    if note.total > corrected.amount_due:
        raise ValidationError(
            f"This credit note ({corrected.money(note.total)}) is more than is due on {corrected} "
            f"({corrected.amount_due_display()})."
        )
    corrected.amount_credited += note.total
    if corrected.amount_due == 0:
        corrected.status = Invoice.Status.PAID if corrected.amount_paid else Invoice.Status.VOID
    corrected.save(update_fields=["amount_credited", "status"])


@transaction.atomic
def invoice_void(*, invoice: Invoice, today: datetime.date | None = None) -> Invoice:
    """Cancel an open invoice nothing was paid on: a credit note of all its lines. Returns the credit note."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN or invoice.amount_paid or invoice.amount_credited:
        raise ValidationError(f"Only an open invoice with no payment or credit can be voided; {invoice} can't.")
    lines = [
        LineInput(
            f"Cancels invoice {invoice.display_number}: {line.description}",
            line.unit_price,
            line.quantity,
            line.tax_rate,
        )
        for line in invoice.lines.all()
    ]
    note = invoice_draft_create(customer=invoice.customer, lines=lines, credits=invoice)
    # Rounded as the invoice was, though the organisation's rule may have changed since: it cancels it to the cent.
    return invoice_issue(invoice=note, today=today, rounding=_rounding_of(invoice))


def _tax_lines(totals: Totals) -> list[dict[str, str]]:
    return [{"rate": str(group.rate), "net": str(group.net), "tax": str(group.tax)} for group in totals.taxes]


def _rounding_of(invoice: Invoice) -> str | None:
    """The rounding rule the issued invoice's figures were reckoned by: the one that gives its tax per rate again.
    Not its total alone: two rules can come to one total yet split the tax between the rates differently."""
    lines = [Line(line.quantity, line.unit_price, line.tax_rate) for line in invoice.lines.all()]
    for rule, _label in Rounding.CHOICES:
        totals = totals_compute(lines, currency=invoice.currency, rounding=rule)
        if totals.total == invoice.total and _tax_lines(totals) == invoice.tax_lines:
            return rule
    return None


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    paid_on: datetime.date,
    method: str,
    reference: str = "",
    recorded_by: User | None = None,
    entry_token: str = "",
) -> Payment:
    """Record a payment against an open invoice and email its receipt; what is left stays due.

    `entry_token` names the form it was entered with: entered again (a double click), it raises CreatedAlready with
    the payment recorded the first time, and records and emails nothing more.
    """
    invoice = _locked(Invoice.objects.select_related("organisation", "customer"), invoice.pk)
    # After the invoice's lock: a second submission waits for the first to commit, then finds its payment.
    if entry_token and (entered := Payment.objects.filter(entry_token=entry_token).first()):
        raise CreatedAlready(entered)
    if invoice.status != Invoice.Status.OPEN or invoice.is_credit_note:
        raise ValidationError(f"Payments are recorded against open invoices; {invoice} is {invoice.status}.")
    if amount <= 0:
        raise ValidationError("A payment is more than nothing.")
    if money_round(amount, invoice.currency) != amount:
        raise ValidationError(f"{amount} has more decimals than {invoice.currency} has.")
    if amount > invoice.amount_due:
        raise ValidationError(
            f"{money_format(amount, invoice.currency)} is more than is due ({invoice.amount_due_display()})."
        )
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        paid_on=paid_on,
        method=method,
        reference=reference,
        recorded_by=recorded_by,
        entry_token=entry_token,
    )
    invoice.amount_paid += amount
    if invoice.amount_due == 0:
        invoice.status = Invoice.Status.PAID
    invoice.save(update_fields=["amount_paid", "status"])
    payment.invoice = invoice
    context, secrets = _link(invoice.customer)
    email_enqueue(
        organisation=invoice.organisation,
        to=invoice.customer.email,
        template="billing/emails/payment_received",
        context={"customer": invoice.customer, "invoice": invoice, "payment": payment, **context},
        secrets=secrets,
        attachments=[EmailAttachment(receipt_pdf_name(payment), receipt_pdf(payment), PDF)],
    )
    return payment


def add_on_invoice_issue(
    *,
    customer_id: int,
    source: str,
    description: str,
    price: Decimal,
    currency: str,
    booking_reference: str,
) -> Invoice | None:
    """Issue the invoice of an add-on a customer booked, once per `source`, where the organisation wants it.

    The price the customer confirmed is the line's unit price; the organisation's add-on tax rate is added."""
    return _booked_invoice_issue(
        customer_id=customer_id,
        source=source,
        line=lambda billing: LineInput(description, price, Decimal(1), billing.add_on_tax_rate),
        wanted=lambda billing: billing.invoice_add_ons,
        currency=currency,
        booking_reference=booking_reference,
    )


def service_invoice_issue(
    *,
    customer_id: int,
    source: str,
    description: str,
    price: Decimal,
    places: int,
    currency: str,
    booking_reference: str,
) -> Invoice | None:
    """Issue the invoice of a service a customer booked (a line of `places` at its price), once per `source`,
    where the organisation wants it; the organisation's service tax rate is added."""
    return _booked_invoice_issue(
        customer_id=customer_id,
        source=source,
        line=lambda billing: LineInput(description, price, Decimal(places), billing.service_tax_rate),
        wanted=lambda billing: billing.invoice_services,
        currency=currency,
        booking_reference=booking_reference,
    )


def _booked_invoice_issue(
    *,
    customer_id: int,
    source: str,
    line: Callable[[BillingSettings], LineInput],
    wanted: Callable[[BillingSettings], bool],
    currency: str,
    booking_reference: str,
) -> Invoice | None:
    customer = Customer.objects.select_related("organisation").get(pk=customer_id)
    billing = BillingSettings.objects.filter(organisation=customer.organisation_id).first()
    if billing is None or not wanted(billing):
        return None
    if Invoice.objects.filter(organisation=customer.organisation_id, source=source).exists():
        return None
    draft = invoice_draft_create(
        customer=customer, lines=[line(billing)], booking_reference=booking_reference, source=source, currency=currency
    )
    return invoice_issue(invoice=draft)


def booked_invoice_cancel(*, organisation_id: int, source: str) -> Invoice | None:
    """A cancelled add-on's or service's invoice is voided if nothing was paid on it (else staff settle it).
    Returns the credit note, if any."""
    invoice = Invoice.objects.filter(organisation=organisation_id, source=source, status=Invoice.Status.OPEN).first()
    if invoice is None or invoice.amount_paid or invoice.amount_credited:
        return None
    return invoice_void(invoice=invoice)


# ---------------------------------------------------------------------------------------------
# Open tabs


def tab_open(*, customer: Customer, title: str, booking_reference: str = "") -> Tab:
    return Tab.objects.create(
        organisation_id=customer.organisation_id, customer=customer, title=title, booking_reference=booking_reference
    )


def tab_open_by_staff(*, tab: Tab, request_token: str = "") -> None:
    """Save a tab staff opened on the admin's add page, in its customer's organisation.

    Raises CreatedAlready, creating nothing, if the same add page (`request_token`) opened a tab before."""
    tab.organisation_id = tab.customer.organisation_id
    create_once(tab, request_token=request_token)


@transaction.atomic
def tab_charge_add(*, tab: Tab, charge: LineInput) -> TabCharge:
    tab = Tab.objects.select_for_update().get(pk=tab.pk)
    if tab.status != Tab.Status.OPEN:
        raise ValidationError(f"The tab {tab} is closed: add the charge to a new tab or an invoice.")
    return TabCharge.objects.create(
        tab=tab,
        description=charge.description,
        quantity=charge.quantity,
        unit_price=charge.unit_price,
        tax_rate=charge.tax_rate,
    )


@transaction.atomic
def tab_close(*, tab: Tab, today: datetime.date | None = None) -> Invoice:
    """Close an open tab into one issued invoice of its charges."""
    tab = _locked(Tab.objects.select_related("customer__organisation"), tab.pk)
    if tab.status != Tab.Status.OPEN:
        raise ValidationError(f"The tab {tab} is closed already.")
    charges = [LineInput(c.description, c.unit_price, c.quantity, c.tax_rate) for c in tab.charges.all()]
    if not charges:
        raise ValidationError(f"The tab {tab} has no charges to invoice.")
    draft = invoice_draft_create(customer=tab.customer, lines=charges, booking_reference=tab.booking_reference)
    invoice = invoice_issue(invoice=draft, today=today)
    tab.status, tab.closed_at, tab.invoice = Tab.Status.CLOSED, timezone.now(), invoice
    tab.save(update_fields=["status", "closed_at", "invoice"])
    return invoice


# ---------------------------------------------------------------------------------------------
# Memberships

REMINDER_DAYS = 7


def membership_start(*, customer: Customer, plan: Plan, started_on: datetime.date) -> Membership:
    return Membership.objects.create(
        organisation_id=customer.organisation_id,
        customer=customer,
        plan=plan,
        started_on=started_on,
        period_ends_on=period_end_after(started_on=started_on, period=plan.period, after=started_on),
    )


def membership_start_by_staff(*, membership: Membership, request_token: str = "") -> None:
    """Save a membership staff started on the admin's add page, in its customer's organisation, its first period
    following from its start.

    Raises CreatedAlready, creating nothing, if the same add page (`request_token`) started a membership before."""
    membership.organisation_id = membership.customer.organisation_id
    membership.period_ends_on = period_end_after(
        started_on=membership.started_on, period=membership.plan.period, after=membership.started_on
    )
    create_once(membership, request_token=request_token)


@dataclass
class MembershipsAdvanced:
    renewed: int = 0
    expired: int = 0
    reminded: int = 0
    failed: list[int] = field(default_factory=list)  # the memberships that could not be moved on, logged


def memberships_advance(*, today: datetime.date | None = None) -> MembershipsAdvanced:
    """Move memberships through their dates as of `today` (by default each organisation's own date, in its time
    zone): active ones whose period ended renew (as often as they missed), cancelled ones whose period ended
    expire, and active ones renewing within a week have their customer reminded, once per renewal. Safe to run
    again the same day, or late.

    A membership that can't be moved on is logged, left as it was and named in `failed`; the others still are."""
    done = MembershipsAdvanced()
    with_memberships = Organisation.objects.filter(pk__in=Membership.objects.values("organisation_id"))
    for organisation in with_memberships.only("pk", "time_zone"):
        its_today = today or timezone.localdate(timezone=organisation.zone)
        _memberships_advance(Membership.objects.filter(organisation=organisation), today=its_today, done=done)
    return done


def _each_alone(pks: Iterable[int], done: MembershipsAdvanced, step: Callable[[int], None]) -> None:
    """`step` for each membership in a transaction of its own: one that fails is rolled back and logged, and the
    rest go on (a membership whose dates staff mistyped must not hold up every other organisation's)."""
    for pk in pks:
        try:
            with transaction.atomic():
                step(pk)
        except Exception:
            logger.exception("Membership %s could not be moved on: left as it was", pk)
            done.failed.append(pk)


def _memberships_advance(memberships: QuerySet[Membership], *, today: datetime.date, done: MembershipsAdvanced):
    def renew(pk: int) -> None:
        membership = _locked(Membership.objects.select_related("plan"), pk)
        if membership.status == Membership.Status.ACTIVE and membership.period_ends_on <= today:
            membership.period_ends_on = period_end_after(
                started_on=membership.started_on, period=membership.plan.period, after=today
            )
            membership.save(update_fields=["period_ends_on"])
            done.renewed += 1

    def expire(pk: int) -> None:
        # Checked again under the lock: staff may have resumed it since it was listed.
        membership = _locked(Membership.objects.all(), pk)
        if membership.status == Membership.Status.CANCELLED and membership.period_ends_on <= today:
            membership.status = Membership.Status.EXPIRED
            membership.save(update_fields=["status"])  # a save, not update(): the customer's pages go stale
            done.expired += 1

    def remind(pk: int) -> None:
        membership = _locked(Membership.objects.select_related("plan", "customer__organisation"), pk)
        if membership.reminded_for == membership.period_ends_on:
            return
        membership.reminded_for = membership.period_ends_on
        membership.save(update_fields=["reminded_for"])
        customer = membership.customer
        context, secrets = _link(customer, "billing:membership")
        email_enqueue(
            organisation=customer.organisation,
            to=customer.email,
            template="billing/emails/membership_renews",
            context={"customer": customer, "membership": membership, **context},
            secrets=secrets,
        )
        done.reminded += 1

    due = memberships.filter(status=Membership.Status.ACTIVE, period_ends_on__lte=today)
    _each_alone(list(due.values_list("pk", flat=True)), done, renew)
    ended = memberships.filter(status=Membership.Status.CANCELLED, period_ends_on__lte=today)
    _each_alone(list(ended.values_list("pk", flat=True)), done, expire)
    soon = memberships.filter(
        status=Membership.Status.ACTIVE,
        period_ends_on__gt=today,
        period_ends_on__lte=today + datetime.timedelta(days=REMINDER_DAYS),
    ).exclude(reminded_for=models.F("period_ends_on"))
    _each_alone(list(soon.values_list("pk", flat=True)), done, remind)
