from decimal import Decimal

from django import forms

from billing.models import Invoice, Payment
from billing.money import money_round
from portal_core.sent_once import CreatedAlready, SentOnceForm


class AddedOnceForm(SentOnceForm, forms.ModelForm):
    """An admin add page's form: the same page saved twice creates one row (its once_token, given to the service
    that creates it through portal_core.sent_once.create_once)."""


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

    def full_clean(self) -> None:
        super().full_clean()
        # Looked up once refused, not before the checks: a sending at the same moment may record it while they run.
        if self.errors and self.once_token:
            if entered := Payment.objects.filter(entry_token=self.once_token).first():
                raise CreatedAlready(entered)

    def clean(self):
        cleaned = super().clean() or {}
        invoice, amount = cleaned.get("invoice"), cleaned.get("amount")
        if invoice is None or amount is None:
            return cleaned
        if money_round(amount, invoice.currency) != amount:
            self.add_error("amount", f"{invoice.currency} has {_digits(invoice.currency)} decimals.")
        elif amount > invoice.amount_due:
            self.add_error("amount", f"Only {invoice.amount_due_display()} is due on {invoice}.")
        return cleaned


def _digits(currency: str) -> int:
    return -money_round(Decimal(0), currency).as_tuple().exponent  # type: ignore[operator]
