"""A write locks the rows it changes, not the rows it reads them with: on PostgreSQL, FOR UPDATE over a join locks
every joined row, and an organisation's row locked until commit holds up every other write that names it (a
foreign key's check takes FOR KEY SHARE on it), whoever's it is."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections, transaction

from billing.services import (
    LineInput,
    invoice_draft_create,
    invoice_issue,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
from portal_auth.models import CustomerToken
from portal_auth.services import customer_password_reset_by_staff, customer_password_set
from portal_core.origin import ClientOrigin
from profiles.services import email_change_confirm, email_change_request
from tests.billing.factories import BillingSettingsFactory
from tests.factories import CustomerFactory, OrganisationFactory, StaffUserFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's; SQLite runs one writer"),
    pytest.mark.django_db(transaction=True),
]

ORIGIN = ClientOrigin(ip="198.51.100.4", user_agent="Firefox/133.0")
PASSWORD = "a long enough passphrase 7"


def rows_taken_meanwhile(rows: list[tuple[str, int]]) -> list[str]:
    """The tables among `rows` ((table, id)) whose row another connection could not take FOR KEY SHARE at once,
    as an insert naming it would."""
    taken = []

    def look():
        try:
            with connections["default"].cursor() as cursor:
                for table, pk in rows:
                    try:
                        with transaction.atomic():
                            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", [pk])  # noqa: S608
                    except OperationalError:
                        taken.append(table)
        finally:
            connections.close_all()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return taken


def _billing(customer):
    BillingSettingsFactory(organisation=customer.organisation)
    return invoice_draft_create(customer=customer, lines=[LineInput("Night", Decimal("80"))])


def _issue(customer):
    draft = _billing(customer)
    return lambda: invoice_issue(invoice=draft)


def _pay(customer):
    invoice = invoice_issue(invoice=_billing(customer))
    return lambda: payment_record(invoice=invoice, amount=Decimal(10), paid_on=datetime.date(2027, 1, 1), method="cash")


def _close_tab(customer):
    BillingSettingsFactory(organisation=customer.organisation)
    tab = tab_open(customer=customer, title="Bar")
    tab_charge_add(tab=tab, charge=LineInput("Drink", Decimal(5)))
    return lambda: tab_close(tab=tab)


def _password_set(customer):
    token, _raw = CustomerToken.issue(
        customer=customer, purpose=CustomerToken.Purpose.SET_PASSWORD, lifetime=datetime.timedelta(hours=1)
    )
    return lambda: customer_password_set(origin=ORIGIN, token=token, password=PASSWORD)


def _password_reset_by_staff(customer):
    staff = StaffUserFactory()
    return lambda: customer_password_reset_by_staff(
        origin=ORIGIN, customer=customer, password=PASSWORD, staff_user=staff
    )


def _email_change_request(customer):
    return lambda: email_change_request(origin=ORIGIN, customer=customer, new_email="new@example.com")


def _email_change_confirm(customer):
    change = email_change_request(origin=ORIGIN, customer=customer, new_email="new@example.com")
    return lambda: email_change_confirm(origin=ORIGIN, token_hash=change.token_hash, customer=customer)


# Which rows each write leaves free: the organisation's always; the customer's where the write changes no customer.
WRITES = {
    "issue an invoice": (_issue, ["portal_auth_organisation", "portal_auth_customer"]),
    "record a payment": (_pay, ["portal_auth_organisation", "portal_auth_customer"]),
    "close a tab": (_close_tab, ["portal_auth_organisation", "portal_auth_customer"]),
    "set a password by link": (_password_set, ["portal_auth_organisation"]),
    "staff reset a password": (_password_reset_by_staff, ["portal_auth_organisation"]),
    "ask to change the email": (_email_change_request, ["portal_auth_organisation"]),
    "confirm the email change": (_email_change_confirm, ["portal_auth_organisation"]),
}


@pytest.mark.parametrize("write", WRITES)
def test_a_write_leaves_its_organisation_free_for_the_organisations_other_writes(write):
    prepare, free = WRITES[write]
    customer = CustomerFactory(organisation=OrganisationFactory())
    run = prepare(customer)
    ids = {"portal_auth_organisation": customer.organisation_id, "portal_auth_customer": customer.pk}

    with transaction.atomic():  # the write's locks held, as while it draws a PDF or writes its emails
        run()
        taken = rows_taken_meanwhile([(table, ids[table]) for table in free])

    assert taken == []
