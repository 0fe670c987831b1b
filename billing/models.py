import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from billing.dates import period_end_after
from billing.money import Rounding, money_format, plain_number
from portal_auth.models import Customer, Organisation
from portal_core.text import validate_name_characters

currency_code = RegexValidator(r"^[A-Z]{3}$", "A three-letter ISO 4217 code, such as EUR, JPY or KWD.")


def money_field(*, editable: bool = True, minimum: Decimal | None = None) -> models.DecimalField:
    """Three decimals: the finest minor unit (KWD, BHD, …). Editable ones are typed by staff; others fixed on issue."""
    validators = [MinValueValidator(minimum)] if minimum is not None else []
    if editable:
        return models.DecimalField(max_digits=14, decimal_places=3, validators=validators)
    return models.DecimalField(max_digits=14, decimal_places=3, default=Decimal(0), editable=False)


def tax_rate_field(verbose_name: str = "tax rate") -> models.DecimalField:
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Percent: 20 for 20 %.",
    )


class BillingSettings(models.Model):
    """One per organisation: who bills, in which currency, how it rounds, and how customers pay."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+")
    legal_name = models.CharField(max_length=200, blank=True, help_text="On every invoice; the name if empty.")
    address = models.TextField(blank=True, help_text="On every invoice, as written here.")
    tax_number = models.CharField("tax number", max_length=60, blank=True)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_code])
    rounding = models.CharField(max_length=10, choices=Rounding.CHOICES, default=Rounding.PER_LINE)
    days_due = models.PositiveSmallIntegerField("days to pay", default=14)
    payment_instructions = models.TextField(
        blank=True, help_text='Shown with every open invoice, e.g. "Bank transfer to IBAN … quoting the number."'
    )
    invoice_add_ons = models.BooleanField("issue an invoice when a customer books a paid add-on", default=False)
    add_on_tax_rate = tax_rate_field("tax rate of add-ons")
    invoice_services = models.BooleanField("issue an invoice when a customer books a paid service", default=False)
    service_tax_rate = tax_rate_field("tax rate of services")

    class Meta:
        verbose_name = verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"Billing settings of {self.organisation}"

    @classmethod
    def for_organisation(cls, organisation: Organisation) -> "BillingSettings":
        """The organisation's settings, or the defaults (unsaved) when staff never set any."""
        found = cls.objects.filter(organisation=organisation).first()
        return found or cls(organisation=organisation)

    def issuer_name(self) -> str:
        return self.legal_name or self.organisation.name


class BillingProfile(models.Model):
    """Who an invoice is addressed to: the customer's billing name and address."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    name = models.CharField(
        "billing name",
        max_length=200,
        blank=True,
        help_text="The customer's name if empty.",
        validators=[validate_name_characters],
    )
    address = models.TextField("billing address", blank=True)

    def __str__(self) -> str:
        return f"Billing profile of {self.customer}"


class InvoiceNumberCounter(models.Model):
    """The last number given to an invoice or credit note of an organisation; locked while the next is taken."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organisation}: {self.last_number}"


class Invoice(models.Model):
    """An invoice or a credit note. A draft is edited freely; once issued it never changes but for its payments."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    credits = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        help_text="For a credit note: the issued invoice it corrects.",
    )
    booking_reference = models.CharField(max_length=32, blank=True, help_text="The booking it is for, if any.")
    # What caused an invoice issued automatically ("bookings.addon:42"): never twice for one cause.
    source = models.CharField(max_length=100, blank=True, editable=False)
    number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.DRAFT, editable=False)
    currency = models.CharField(
        max_length=3, blank=True, validators=[currency_code], help_text="The organisation's if empty."
    )
    issued_on = models.DateField(null=True, blank=True, editable=False)
    due_on = models.DateField(null=True, blank=True, editable=False)
    # Fixed when issued, from the lines and the organisation's rounding rule.
    subtotal = money_field(editable=False)
    tax = money_field(editable=False)
    total = money_field(editable=False)
    tax_lines = models.JSONField(default=list, editable=False)  # [{"rate", "net", "tax"}] as strings
    amount_paid = money_field(editable=False)
    amount_credited = money_field(editable=False)
    # Who it was addressed to when issued: the PDF is made from these, so it never changes afterwards.
    bill_to_name = models.CharField(max_length=254, blank=True, editable=False)  # an email, where no name
    bill_to_address = models.TextField(blank=True, editable=False)
    bill_to_email = models.CharField(max_length=254, blank=True, default="", editable=False)
    issuer_name = models.CharField(max_length=200, blank=True, editable=False)
    issuer_address = models.TextField(blank=True, editable=False)
    issuer_tax_number = models.CharField(max_length=60, blank=True, editable=False)
    payment_instructions = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second draft.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], condition=Q(number__isnull=False), name="billing_one_number"
            ),
            models.UniqueConstraint(
                fields=["organisation", "source"], condition=~Q(source=""), name="billing_one_source"
            ),
            models.UniqueConstraint(
                fields=["request_token"], condition=~Q(request_token=""), name="invoice_created_once"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False, issued_on__isnull=False),
                name="billing_issued_has_number",
            ),
        ]
        indexes = [models.Index(fields=["customer", "status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display_number}"

    def clean(self) -> None:
        super().clean()
        # A draft moved to another organisation's customer would be numbered, signed and emailed as this one's.
        if self.organisation_id and self.customer_id and self.customer.organisation_id != self.organisation_id:
            raise ValidationError({"customer": "This customer is another organisation's: choose one of the invoice's."})

    @property
    def display_number(self) -> str:
        return f"{self.number:06d}" if self.number else "draft"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def amount_due(self) -> Decimal:
        if self.is_credit_note or self.status in (self.Status.DRAFT, self.Status.VOID):
            return Decimal(0)
        return self.total - self.amount_paid - self.amount_credited

    def money(self, amount: Decimal) -> str:
        return money_format(amount, self.currency)

    def total_display(self) -> str:
        return self.money(self.total)

    def amount_due_display(self) -> str:
        return self.money(self.amount_due)

    def is_overdue(self, today: datetime.date) -> bool:
        return self.status == self.Status.OPEN and self.due_on is not None and self.due_on < today


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal(1))
    unit_price = money_field(minimum=Decimal(0))
    tax_rate = tax_rate_field()
    net = money_field(editable=False)  # fixed when issued

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.description


class Payment(models.Model):
    """A payment staff recorded against an invoice: its receipt."""

    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card (at the desk)"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = money_field(minimum=Decimal("0.001"))
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True, help_text="The bank's or terminal's reference.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The form it was entered with: sent twice (a double click, the back button), it is one payment.
    entry_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        ordering = ["paid_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["entry_token"], condition=~Q(entry_token=""), name="payment_entered_once")
        ]

    def __str__(self) -> str:
        return f"Receipt {self.pk} for {self.invoice}"

    def amount_display(self) -> str:
        return money_format(self.amount, self.invoice.currency)


class Tab(models.Model):
    """Charges gathered during a stay or a membership period; closing it issues one invoice for them all."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, help_text='What it is for, e.g. "Stay, room 12".')
    booking_reference = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN, editable=False)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second tab.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        indexes = [models.Index(fields=["customer", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["request_token"], condition=~Q(request_token=""), name="tab_created_once")
        ]

    def __str__(self) -> str:
        return self.title


class TabCharge(models.Model):
    tab = models.ForeignKey(Tab, on_delete=models.CASCADE, related_name="charges")
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal(1))
    unit_price = money_field(minimum=Decimal(0))
    tax_rate = tax_rate_field()
    charged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charged_at", "pk"]

    def __str__(self) -> str:
        return self.description

    @property
    def quantity_shown(self) -> str:
        return plain_number(self.quantity)


class Plan(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", "Month"
        YEAR = "year", "Year"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    benefits = models.JSONField(default=list, blank=True, help_text='A list of texts: ["Free breakfast", …].')
    price = money_field(minimum=Decimal(0))
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_code])
    period = models.CharField(max_length=5, choices=Period.choices, default=Period.MONTH)
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second plan.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request_token"], condition=~Q(request_token=""), name="plan_created_once")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.benefits, list) or not all(isinstance(text, str) for text in self.benefits):
            raise ValidationError(
                {"benefits": 'A list of texts, each in double quotes: ["Free breakfast", "Late check-out"].'}
            )

    def price_display(self) -> str:
        return f"{money_format(self.price, self.currency)} a {self.get_period_display().lower()}"

    def benefit_texts(self) -> list[str]:
        """The benefits to list; a plan saved before they were checked may hold something else, which lists none."""
        if not isinstance(self.benefits, list):
            return []
        return [text for text in self.benefits if isinstance(text, str)]


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"  # runs until the end of its period, then expires
        EXPIRED = "expired", "Expired"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(Plan, on_delete=models.RESTRICT, related_name="memberships")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField()
    period_ends_on = models.DateField(help_text="When it renews (active) or ends (cancelled).")
    # The period end whose renewal reminder went out, so the daily command sends it once.
    reminded_for = models.DateField(null=True, blank=True, editable=False)
    # The admin add page that created it (portal_core/sent_once.py): saved again, it creates no second membership.
    request_token = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)

    class Meta:
        indexes = [models.Index(fields=["status", "period_ends_on"]), models.Index(fields=["customer", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["request_token"], condition=~Q(request_token=""), name="membership_created_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.get_status_display()})"

    def clean(self) -> None:
        super().clean()
        if self.customer_id and self.plan_id and self.plan.organisation_id != self.customer.organisation_id:
            raise ValidationError({"plan": "This plan is another organisation's: choose one of the customer's."})
        if self.started_on and self.plan_id:
            try:  # the daily command reckons its renewals from this day
                period_end_after(started_on=self.started_on, period=self.plan.period, after=self.started_on)
            except (ValueError, OverflowError):
                raise ValidationError(
                    {"started_on": "Its first period would end after 9999: choose the day it really started."}
                ) from None
