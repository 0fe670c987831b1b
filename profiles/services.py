"""Writes of the profile: the customer's details and choices, and moving their account to another address."""

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from outbox.services import email_enqueue
from portal_auth.access_log import log_access
from portal_auth.models import AccessEvent, Customer, hash_token
from portal_auth.portals import customer_page
from portal_auth.services import email_moved_ends_access
from portal_core.origin import ClientOrigin
from profiles.models import EmailChange, Profile

# Long enough to reach another mailbox, short enough that a forgotten link is soon worthless.
EMAIL_CHANGE_LIFETIME = timedelta(hours=1)


def email_change_lifetime_minutes() -> int:
    return int(EMAIL_CHANGE_LIFETIME.total_seconds() // 60)


@dataclass(frozen=True)
class ProfileDetails:
    phone: str
    address_line_1: str
    address_line_2: str
    city: str
    postcode: str
    country: str
    language: str


@transaction.atomic
def profile_update(*, customer: Customer, name: str, details: ProfileDetails, email_choices: dict[str, bool]) -> None:
    """Save what the customer entered on their profile page; their cached pages go stale with the saves."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    customer.name = name
    # Choices of emails no installed section sends now are kept, should it come back.
    customer.email_choices = {**customer.email_choices, **email_choices}
    customer.save(update_fields=["name", "email_choices"])
    Profile.objects.update_or_create(customer=customer, defaults=asdict(details))


class EmailChangeInvalid(Exception):
    """The link is unknown, used, expired, replaced, or outlived by a change that ended the customer's sessions."""


class EmailTaken(Exception):
    """The new address became another customer's after the link was sent."""


@transaction.atomic
def email_change_request(*, origin: ClientOrigin, customer: Customer, new_email: str) -> EmailChange:
    """Email `new_email` a link that moves the customer's account there. Replaces any earlier request, but the
    same request repeated within moments (EmailChange.REPEATED_WITHIN), which is answered with the one pending.

    If the address is already another customer's, that address is told so instead, with no link, and the
    request is kept all the same: whoever asked sees the same page, and learns nothing of who is a customer.
    """
    customer = Customer.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=customer.pk)
    pending = EmailChange.objects.filter(customer=customer).first()
    if pending is not None:
        pending.customer = customer  # as locked: a second press waits here for the first
        if pending.repeated_by(new_email):
            return pending
    organisation = customer.organisation
    raw = secrets.token_urlsafe(48)  # 384 bits; only its hash is kept
    EmailChange.objects.filter(customer=customer).delete()
    change = EmailChange.objects.create(
        customer=customer,
        organisation=organisation,
        new_email=new_email,
        token_hash=hash_token(raw),
        session_version=customer.session_version,
        expires_at=timezone.now() + EMAIL_CHANGE_LIFETIME,
    )
    taken = Customer.objects.filter(organisation=organisation, email=new_email).exists()
    context = {"new_email": new_email, "lifetime_minutes": email_change_lifetime_minutes()}
    if taken:
        sign_in = settings.SITE_URL + customer_page(customer, "portal_auth:sign_in")
        email_enqueue(
            organisation=organisation,
            to=new_email,
            template="profiles/emails/email_taken",
            context={**context, "sign_in_link": sign_in},
        )
    else:
        link = settings.SITE_URL + customer_page(customer, "profile:email_link", token=raw)
        email_enqueue(
            organisation=organisation,
            to=new_email,
            template="profiles/emails/email_confirm",
            context={**context, "link": link},
            secrets=[link],
            useless_after=change.expires_at,
        )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        kind=AccessEvent.Kind.EMAIL_CHANGE_REQUESTED,
        reason=f"to {new_email}" + (", another customer's: told so, no link sent" if taken else ""),
    )
    return change


def email_change_find(*, organisation_id: int, token_hash: str) -> EmailChange | None:
    """The live request whose link has this hash, with its customer; None for anything else."""
    if not token_hash:
        return None
    change = (
        EmailChange.objects.select_related("customer")
        .filter(organisation_id=organisation_id, token_hash=token_hash)
        .first()
    )
    return change if change is not None and change.is_usable else None


def email_changes_purge(now: datetime) -> tuple[int, str]:
    """Requests to change an email whose link has expired: no link can confirm them (`manage.py purge_expired`)."""
    deleted, _ = EmailChange.objects.filter(expires_at__lt=now).delete()
    return deleted, "expired email-change requests"


def email_change_cancel(*, customer: Customer) -> bool:
    """Forget the customer's pending request; its link stops working. True if there was one."""
    deleted, _ = EmailChange.objects.filter(customer=customer).delete()
    return bool(deleted)


@transaction.atomic
def email_change_confirm(*, origin: ClientOrigin, token_hash: str, customer: Customer) -> Customer:
    """The link was opened by `customer`, signed in: their account moves to the new address.

    As a new password does, it ends every session of the customer (the caller keeps its own going), revokes
    every link emailed to the old address, and ends sign-in codes sent to either address. The old address is
    told. Raises EmailChangeInvalid, or EmailTaken if the address became another customer's meanwhile.
    """
    customer = Customer.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=customer.pk)
    change = EmailChange.objects.filter(customer=customer, token_hash=token_hash).first()
    if change is not None:
        change.customer = customer  # as locked, not as read before
    if change is None or not change.is_usable:
        raise EmailChangeInvalid
    organisation, old_email, new_email = customer.organisation, customer.email, change.new_email
    if Customer.objects.filter(organisation=organisation, email=new_email).exists():
        raise EmailTaken
    customer.email = new_email
    try:
        with transaction.atomic():
            customer.save(update_fields=["email"])
    except IntegrityError:
        # Another customer took the address between the check and the save: the constraint decides.
        raise EmailTaken from None
    now = timezone.now()
    revoked = email_moved_ends_access(customer, old_email)
    change.delete()
    email_enqueue(
        organisation=organisation,
        to=old_email,
        template="profiles/emails/email_changed",
        context={"customer": customer, "old_email": old_email, "new_email": new_email, "changed_at": now},
    )
    log_access(
        origin=origin,
        organisation=organisation,
        customer=customer,
        kind=AccessEvent.Kind.EMAIL_CHANGED,
        reason=f"from {old_email} to {new_email}; {revoked} emailed link{'s' if revoked != 1 else ''} revoked",
    )
    return customer
