"""Whose cached pages a write in the billing app makes stale: the customer billed, or the whole organisation
for what every customer's billing pages show (settings, plans)."""

from billing.models import (
    BillingProfile,
    BillingSettings,
    Invoice,
    InvoiceLine,
    Membership,
    Payment,
    Plan,
    Tab,
    TabCharge,
)
from portal_auth.page_cache import customers_scopes, organisation_scope
from portal_core import page_cache


def _organisation_wide(instance: BillingSettings | Plan) -> list[str]:
    return [organisation_scope(instance.organisation_id)]


def watch() -> None:
    page_cache.watch(Invoice, lambda invoice: customers_scopes([invoice.customer_id]))
    page_cache.watch(InvoiceLine, lambda line: customers_scopes([line.invoice.customer_id]))
    page_cache.watch(Payment, lambda payment: customers_scopes([payment.invoice.customer_id]))
    page_cache.watch(Tab, lambda tab: customers_scopes([tab.customer_id]))
    page_cache.watch(TabCharge, lambda charge: customers_scopes([charge.tab.customer_id]))
    page_cache.watch(Membership, lambda membership: customers_scopes([membership.customer_id]), previous=True)
    page_cache.watch(BillingProfile, lambda profile: customers_scopes([profile.customer_id]))
    page_cache.watch(Plan, _organisation_wide)
    page_cache.watch(BillingSettings, _organisation_wide)
