"""Whose cached pages a write in the tickets app makes stale: the requester, and their company's members
(who may see the company's tickets where the organisation allows it; made stale either way)."""

from portal_auth.models import Customer
from portal_auth.page_cache import customers_scopes, organisation_scope
from portal_core import page_cache
from tickets.models import Company, Ticket, TicketAttachment, TicketMessage, TicketSettings

Membership = Company.members.through


def _members(company_id: int | None) -> list[int]:
    if company_id is None:
        return []
    return list(Membership.objects.filter(company_id=company_id).values_list("customer_id", flat=True))


def ticket_scopes(ticket: Ticket) -> list[str]:
    return customers_scopes([ticket.requester_id, *_members(ticket.company_id)])


def _membership_scopes(customer_ids: set[int] | None, instance: Company | Customer) -> list[str]:
    if isinstance(instance, Customer):  # customer.ticket_companies changed: only this customer's view
        return customers_scopes([instance.pk])
    return customers_scopes(customer_ids if customer_ids is not None else _members(instance.pk))


def watch() -> None:
    page_cache.watch(Ticket, ticket_scopes, previous=True)
    page_cache.watch(TicketMessage, lambda message: ticket_scopes(message.ticket))
    page_cache.watch(TicketAttachment, lambda attachment: ticket_scopes(attachment.message.ticket))
    page_cache.watch(Company, lambda company: customers_scopes(_members(company.pk)))
    page_cache.watch_members(Membership, _membership_scopes)
    page_cache.watch(TicketSettings, lambda settings: [organisation_scope(settings.organisation_id)])
