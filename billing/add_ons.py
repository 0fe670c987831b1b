"""Invoices for the add-ons and services customers book, where the organisation turns that on (its billing
settings).

Domain apps never import each other, so billing knows a booked add-on and a booking of a service only by their
models' names and field names, and hears of them from the models' saves: this module is the one place billing
knows the bookings app exists, and the bookings app knows nothing of billing. Without it installed it does nothing.
"""

import logging
from collections.abc import Callable

from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from billing.services import add_on_invoice_issue, booked_invoice_cancel, service_invoice_issue

logger = logging.getLogger(__name__)

BOOKED_ADD_ON = ("bookings", "BookingAddOn")
BOOKING = ("bookings", "Booking")
CANCELLED = "cancelled"


def watch() -> None:
    if apps.is_installed(BOOKED_ADD_ON[0]):
        line, booking = apps.get_model(*BOOKED_ADD_ON), apps.get_model(*BOOKING)
        post_save.connect(_line_saved, sender=line, dispatch_uid="billing.add_ons")
        post_save.connect(_booking_saved, sender=booking, dispatch_uid="billing.services")
        # Deleted (staff deleting a booking takes its add-on lines with it): as if cancelled, nothing stays payable.
        post_delete.connect(_line_deleted, sender=line, dispatch_uid="billing.add_ons.deleted")
        post_delete.connect(_booking_deleted, sender=booking, dispatch_uid="billing.services.deleted")


def _source(line) -> str:
    return f"bookings.addon:{line.pk}"


def _line_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    if created and instance.cancelled_at is None and instance.booked_by_customer_id and instance.price > 0:
        _without_failing_the_booking(
            lambda: add_on_invoice_issue(
                customer_id=instance.booked_by_customer_id,
                source=_source(instance),
                description=f"{instance.add_on.name}: {instance.booking.title}",
                price=instance.price,
                currency=instance.currency,
                booking_reference=instance.booking.reference,
            )
        )
    elif instance.cancelled_at is not None:
        _without_failing_the_booking(
            lambda: booked_invoice_cancel(organisation_id=instance.booking.organisation_id, source=_source(instance))
        )


def _booking_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A service a customer booked: its invoice when booked at a price, voided (if unpaid) when cancelled."""
    if raw or not getattr(instance, "service_id", None) or not instance.booked_by_customer_id:
        return
    source = f"bookings.booking:{instance.pk}"
    if created and instance.status != CANCELLED and instance.service.price > 0:
        service = instance.service
        _without_failing_the_booking(
            lambda: service_invoice_issue(
                customer_id=instance.booked_by_customer_id,
                source=source,
                description=f"{service.name}: {instance.starts_on:%d %b %Y}",
                price=service.price,
                places=instance.places,
                currency=service.currency,
                booking_reference=instance.reference,
            )
        )
    elif instance.status == CANCELLED:
        _without_failing_the_booking(
            lambda: booked_invoice_cancel(organisation_id=instance.organisation_id, source=source)
        )


def _line_deleted(sender, instance, **kwargs) -> None:
    # A booking's lines are deleted before the booking itself, which is still there to name its organisation.
    _without_failing_the_booking(
        lambda: booked_invoice_cancel(organisation_id=instance.booking.organisation_id, source=_source(instance))
    )


def _booking_deleted(sender, instance, **kwargs) -> None:
    source = f"bookings.booking:{instance.pk}"
    _without_failing_the_booking(lambda: booked_invoice_cancel(organisation_id=instance.organisation_id, source=source))


def _without_failing_the_booking(write: Callable[[], object]) -> None:
    # In the booking's transaction (both or neither are seen), but a failed invoice never undoes the booking.
    try:
        with transaction.atomic():
            write()
    except Exception:
        logger.exception(
            "Billing: the invoice of a booked add-on or service could not be written; issue it in the admin"
        )
