"""Invoices for the add-ons customers book, where the organisation turns that on (its billing settings).

Domain apps never import each other, so billing knows a booked add-on only by its model's name and field names,
and hears of it from the model's saves: this module is the one place billing knows the bookings app exists, and
the bookings app knows nothing of billing. Without the bookings app installed it does nothing.
"""

import logging
from collections.abc import Callable

from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_save

from billing.services import add_on_invoice_cancel, add_on_invoice_issue

logger = logging.getLogger(__name__)

BOOKED_ADD_ON = ("bookings", "BookingAddOn")


def watch() -> None:
    if apps.is_installed(BOOKED_ADD_ON[0]):
        post_save.connect(_line_saved, sender=apps.get_model(*BOOKED_ADD_ON), dispatch_uid="billing.add_ons")


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
            lambda: add_on_invoice_cancel(organisation_id=instance.booking.organisation_id, source=_source(instance))
        )


def _without_failing_the_booking(write: Callable[[], object]) -> None:
    # In the booking's transaction (both or neither are seen), but a failed invoice never undoes the booking.
    try:
        with transaction.atomic():
            write()
    except Exception:
        logger.exception("Billing: the invoice of a booked add-on could not be written; issue it in the admin")
