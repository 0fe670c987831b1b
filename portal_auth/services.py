"""Writes of the identity app: customers, passwords and the tokens that prove an email."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from outbox.services import email_enqueue
from portal_auth.access_log import log_access
from portal_auth.doors.registry import PASSWORD, door_is_open
from portal_auth.models import (
    AccessEvent,
    Customer,
    CustomerToken,
    FooterLink,
    Organisation,
    Portal,
    SignInCode,
    normalise_email,
)
from portal_auth.portals import customer_page, customer_portal, portal_path
from portal_core.origin import ClientOrigin
from portal_core.sections import sections


def organisation_knows_email(organisation: Organisation, email: str) -> bool:
    """Whether any app holds something for this email (an attendee on a booking, a ticket, …)."""
    if Customer.objects.filter(organisation=organisation, email=email, is_active=True).exists():
        return True
    return any(section.knows_email(organisation, email) for section in sections() if section.knows_email)


def organisation_footer_links_set(*, organisation_id: int, group: str, links: list[FooterLink]) -> None:
    """Make `links` the footer links of `group` (an app's own key), leaving every other group's as they are."""
    with transaction.atomic():
        # Locked, so two apps rewriting their groups at once can't each write back the other's old links.
        organisation = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
        if organisation is None:  # deleted in the same transaction, taking its footer with it
            return
        footer_links = {name: kept for name, kept in organisation.footer_links.items() if name != group}
        if links:
            footer_links[group] = links
        if footer_links != organisation.footer_links:
            organisation.footer_links = footer_links
            # A save, not an update(): the organisation's page-cache watch makes every page with the footer stale.
            organisation.save(update_fields=["footer_links"])


def password_link_lifetime_minutes() -> int:
    """How long a password link works, as the pages and the email say it."""
    return int(settings.PASSWORD_LINK_LIFETIME.total_seconds() // 60)


def customer_get_or_create(*, organisation: Organisation, email: str, name: str = "") -> Customer:
    email = normalise_email(email)
    customer, created = Customer.objects.get_or_create(organisation=organisation, email=email, defaults={"name": name})
    if not created and name and not customer.name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


def customer_authenticate(*, organisation: Organisation, email: str, password: str) -> Customer | None:
    customer = Customer.objects.filter(organisation=organisation, email=normalise_email(email), is_active=True).first()
    if customer is None or not customer.has_password:
        # Hash anyway, so an unknown email takes as long as a wrong password.
        make_password(password)
        return None
    return customer if customer.check_password(password) else None


@transaction.atomic
def password_link_send(
    *, origin: ClientOrigin, organisation: Organisation, email: str, portal: Portal | None = None
) -> None:
    """Email a link to choose a password, if the email belongs to the organisation. Silent otherwise.

    The link leads to `portal`, the one it was asked from, else to the customer's own.
    """
    email = normalise_email(email)
    # The door may have closed since the request was answered: its link would lead to a page that isn't there.
    if not door_is_open(organisation, PASSWORD) or not organisation_knows_email(organisation, email):
        return
    customer = customer_get_or_create(organisation=organisation, email=email)
    if not customer.is_active:
        return
    token, raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=settings.PASSWORD_LINK_LIFETIME
    )
    portal = portal or customer_portal(customer)
    link = settings.SITE_URL + portal_path(portal, "portal_auth:password_link", token=raw)
    email_enqueue(
        organisation=organisation,
        to=customer.email,
        template="portal_auth/emails/password_link",
        context={
            "customer": customer,
            "portal": portal,
            "link": link,
            "lifetime_minutes": password_link_lifetime_minutes(),
        },
        secrets=[link],
        useless_after=token.expires_at,
    )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        kind=AccessEvent.Kind.PASSWORD_LINK_SENT,
        token=token,
    )


def _password_change(customer: Customer, password: str) -> None:
    customer.set_password(password)
    customer.save(update_fields=["password", "password_changed_at", "session_version"])
    # Every outstanding password link dies with the old password, and so does every emailed sign-in link: a new
    # password is often chosen because a mailbox or a forwarded email was read, and a link is a way in as a
    # session is.
    emailed = (CustomerToken.Purpose.SET_PASSWORD, *CustomerToken.LINK_PURPOSES)
    CustomerToken.objects.filter(customer=customer, purpose__in=emailed).live().revoke()
    email_enqueue(
        organisation=customer.organisation,
        to=customer.email,
        template="portal_auth/emails/password_changed",
        context={
            "customer": customer,
            "sign_in_link": settings.SITE_URL + customer_page(customer, "portal_auth:sign_in"),
        },
    )


@transaction.atomic
def customer_password_set(*, origin: ClientOrigin, token: CustomerToken, password: str) -> Customer:
    """The customer's own choice, through an emailed link: the link is used up."""
    token = (
        CustomerToken.objects.select_for_update(of=("self", "customer"))
        .select_related("customer__organisation")
        .get(pk=token.pk)
    )
    if not token.is_usable:
        raise CustomerToken.DoesNotExist("This link has already been used or has expired.")
    customer = token.customer
    CustomerToken.objects.filter(pk=token.pk).update(used_at=timezone.now())
    _password_change(customer, password)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=AccessEvent.Kind.PASSWORD_SET,
        token=token,
    )
    return customer


@transaction.atomic
def customer_password_reset_by_staff(
    *, origin: ClientOrigin | None, customer: Customer, password: str, staff_user: AbstractBaseUser
) -> None:
    """Staff set the password: it replaces the customer's own and ends their other sessions."""
    customer = Customer.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=customer.pk)
    _password_change(customer, password)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=AccessEvent.Kind.PASSWORD_RESET_BY_STAFF,
        staff_user=staff_user,
    )


def email_moved_ends_access(customer: Customer, old_email: str) -> int:
    """What an account moved from `old_email` to the address `customer` now holds ends, whoever moved it (the
    customer, staff, the business's API), as a new password does: every session (by a new session version; a
    caller that keeps its own going copies it), every live emailed link, and the sign-in codes sent to either
    address. Bookings follow the address, so nothing the old one opened may reach what the new one holds.

    Returns how many links were revoked.
    """
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(session_version=F("session_version") + 1)
    customer.refresh_from_db(fields=["session_version"])
    revoked = CustomerToken.objects.filter(customer=customer).live().revoke(now=now)
    SignInCode.objects.filter(
        organisation_id=customer.organisation_id, email__in=[old_email, customer.email], ended_at__isnull=True
    ).update(ended_at=now)
    return revoked


def _email_moved_by_business(customer: Customer, old_email: str, *, by: str, staff_user=None, origin=None) -> None:
    revoked = email_moved_ends_access(customer, old_email)
    log_access(
        origin=origin,
        organisation=customer.organisation,
        customer=customer,
        kind=AccessEvent.Kind.EMAIL_CHANGED,
        staff_user=staff_user,
        reason=f"from {old_email} to {customer.email} {by}; {revoked} emailed link{'s' if revoked != 1 else ''} "
        "revoked",
    )


@transaction.atomic
def customer_email_set_by_staff(
    *, customer: Customer, old_email: str, staff_user: AbstractBaseUser, origin: ClientOrigin | None
) -> None:
    """Staff saved `customer` with another address (the admin): what the old one opened ends."""
    _email_moved_by_business(customer, old_email, by="by staff", staff_user=staff_user, origin=origin)


class CustomerConflict(Exception):
    """The email belongs to another customer of the organisation, who has another external id."""


@transaction.atomic
def customer_provision(*, organisation: Organisation, external_id: str, email: str, name: str) -> tuple[Customer, bool]:
    """The customer the business names `external_id`, created or brought up to date; True if created.

    A customer already known by the email and named by no external id yet takes this one (the business
    provisioning someone who wrote in before). Raises CustomerConflict where the email is someone else's.
    """
    email = normalise_email(email)
    # Both in one statement, so one moment's rows: read apart, a customer made in between would be seen by one only.
    found = list(
        Customer.objects.select_for_update()
        .filter(Q(external_id=external_id) | Q(email=email), organisation=organisation)
        .order_by("pk")
    )
    named = next((customer for customer in found if customer.external_id == external_id), None)
    by_email = next((customer for customer in found if customer.email == email), None)
    if by_email is not None and by_email != named and (by_email.external_id or named is not None):
        raise CustomerConflict(f"{email} belongs to another customer.")
    customer = named or by_email
    if customer is None:
        try:
            with transaction.atomic():
                created = Customer.objects.create(
                    organisation=organisation, external_id=external_id, email=email, name=name
                )
            return created, True
        except IntegrityError:
            # Another call made this customer (or took the email) a moment ago, which the locks above could not see
            # (no row to lock yet): look again, its row now there.
            return customer_provision(organisation=organisation, external_id=external_id, email=email, name=name)
    old_email = customer.email
    customer.external_id, customer.email = external_id, email
    if name:
        customer.name = name
    customer.save(update_fields=["external_id", "email", "name"])
    if email != old_email:
        _email_moved_by_business(customer, old_email, by="through the API")
    return customer, False
