import hashlib
from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.db import models

from billing.models import Invoice, Payment
from billing.money import money_format, money_round
from portal_core.sent_once import CreatedAlready, SentOnceForm


class AddedOnceForm(SentOnceForm, forms.ModelForm):
    """An admin add page's form: the same page saved twice creates one row (its once_token, given to the service
    that creates it through portal_core.sent_once.create_once)."""


def row_state(row: models.Model) -> str:
    """A digest of every column of `row` as read: two readings of the row differ in it if anything was written to
    the row between them."""
    columns = "\x1f".join(repr(getattr(row, field.attname)) for field in row._meta.concrete_fields)
    return hashlib.sha256(columns.encode()).hexdigest()


class ChangedMeanwhile(Exception):
    """The row was written by someone else (staff, the customer, a service) since its admin page was shown."""


class SavedAsShownForm(AddedOnceForm):
    """The admin page of a row billing's services write too (an invoice paid or issued, a tab closed, a membership
    renewed or reminded): added once, and changed only from the row as the page showed it.

    The page carries the row's state as shown (`row_state`). Saving locks the row, refuses with ChangedMeanwhile if
    it no longer is that state, and writes only the fields the staff member changed: a page left open, or read just
    before a service commits, can't write the columns it read back over what the service wrote.
    """

    shown_state = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk is not None:
            self.fields["shown_state"].initial = row_state(self.instance)

    def save_as_shown(self, row: models.Model, *, also: tuple[str, ...] = ()) -> None:
        """Save the fields of `row` the page changed (and `also`), in the caller's transaction, which the row's
        lock lasts for. Raises ChangedMeanwhile, writing nothing, if the row is no longer as the page showed it."""
        now = type(row)._default_manager.select_for_update().get(pk=row.pk)
        if self.cleaned_data.get("shown_state") != row_state(now):
            raise ChangedMeanwhile(
                f"The {row._meta.verbose_name} “{now}” was changed by someone else while this page was open, so "
                "your changes were not saved. Here it is as it is now: make them again if they still apply."
            )
        columns = {field.name for field in row._meta.concrete_fields}
        changed = [name for name in self.changed_data if name in columns]
        if fields := [*changed, *(name for name in also if name not in changed)]:
            row.save(update_fields=fields)


class PaymentForm(SentOnceForm, forms.ModelForm):
    """Staff record a payment: refused, with the reason, unless it fits what the invoice still asks for. The same
    form sent twice records one payment (its once_token, billing.services.payment_record).

    Checking raises CreatedAlready, with the payment, where the form is refused but was recorded already: that
    payment paid the invoice (no longer offered) or some of it (less due than the form says), and is the answer.
    """

    class Meta:
        model = Payment
        fields = ["invoice", "amount", "paid_on", "method", "reference"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "invoice" in self.fields:
            open_invoices = Invoice.objects.filter(status=Invoice.Status.OPEN, kind=Invoice.Kind.INVOICE)
            self.fields["invoice"].queryset = open_invoices.select_related("customer")  # type: ignore[attr-defined]
            self.fields["invoice"].help_text = "Open invoices only. A payment can't be changed once recorded."
        if "amount" in self.fields:
            # Checked in clean(), in the invoice's currency: "at least 0.001" means nothing for a JPY invoice.
            amount = self.fields["amount"]
            amount.validators = [v for v in amount.validators if not isinstance(v, MinValueValidator)]

    def full_clean(self) -> None:
        super().full_clean()
        # Looked up once refused, not before the checks: a sending at the same moment may record it while they run.
        if self.errors and self.once_token:
            if entered := Payment.objects.filter(entry_token=self.once_token).first():
                raise CreatedAlready(entered)

    def clean(self):
        cleaned = super().clean() or {}
        invoice, amount = cleaned.get("invoice"), cleaned.get("amount")
        if amount is not None and amount <= 0:
            smallest = f": at least {money_format(_smallest(invoice.currency), invoice.currency)}" if invoice else ""
            self.add_error("amount", f"A payment is more than nothing{smallest}.")
        if invoice is None or amount is None or amount <= 0:
            return cleaned
        if money_round(amount, invoice.currency) != amount:
            self.add_error("amount", f"{invoice.currency} has {_digits(invoice.currency)} decimals.")
        elif amount > invoice.amount_due:
            self.add_error("amount", f"Only {invoice.amount_due_display()} is due on {invoice}.")
        return cleaned


def _smallest(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_digits(currency))


def _digits(currency: str) -> int:
    return -money_round(Decimal(0), currency).as_tuple().exponent  # type: ignore[operator]
