"""Every write that changes a billing page, made between two views of it: the next view shows it (page cache)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing.models import Membership, Plan
from billing.services import (
    LineInput,
    invoice_void,
    membership_start,
    memberships_advance,
    payment_record,
    tab_charge_add,
    tab_close,
    tab_open,
)
from tests.conftest import admin_page_data

TODAY = datetime.date(2026, 3, 1)


@dataclass
class World:
    customer: object
    invoice: object
    tab: object
    membership: Membership
    issue: Callable


@pytest.fixture
def world(customer, issue, make_plan):
    invoice = issue(("Room", "100.00", "1", "0"), today=TODAY)
    tab = tab_open(customer=customer, title="Stay, room 12")
    tab_charge_add(tab=tab, charge=LineInput("Minibar", Decimal(4)))
    membership = membership_start(customer=customer, plan=make_plan(), started_on=datetime.date(2026, 2, 10))
    return World(customer, invoice, tab, membership, issue)


def _admin_saves_membership(world, admin_client):
    url = f"/admin/billing/membership/{world.membership.pk}/change/"
    response = admin_client.post(url, {**admin_page_data(admin_client.get(url)), "status": "paused"})
    assert response.status_code == 302


WRITES = {
    "invoice issued": ("", lambda w, a: w.issue(("Spa", "70.00", "1", "0")), "70.00 EUR"),
    "payment recorded": (
        "",
        lambda w, a: payment_record(invoice=w.invoice, amount=Decimal(100), paid_on=TODAY, method="cash"),
        "Receipt (PDF)",
    ),
    "invoice voided": ("", lambda w, a: invoice_void(invoice=w.invoice), ">Void<"),
    "charge added to the tab": (
        "tab/",
        lambda w, a: tab_charge_add(tab=w.tab, charge=LineInput("Late checkout", Decimal(15))),
        "Late checkout",
    ),
    "tab closed": ("tab/", lambda w, a: tab_close(tab=w.tab), "You have no open tab."),
    "tab closed, its invoice listed": ("", lambda w, a: tab_close(tab=w.tab), "Invoice 000002"),
    "membership renewed by the daily command": (
        "membership/",
        lambda w, a: memberships_advance(today=datetime.date(2026, 3, 10)),
        "Renews on 10 April 2026",
    ),
    "membership paused in the admin": ("membership/", _admin_saves_membership, "Paused: it won't renew"),
    "plan renamed": ("membership/", lambda w, a: _rename_plan(w.membership.plan_id), "Explorer Club"),
}


def _rename_plan(pk):
    plan = Plan.objects.get(pk=pk)
    plan.name = "Explorer Club"
    plan.save()


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_makes_the_next_view_fresh(write, world, sign_in, admin_client):
    path, make, shows = write
    client = sign_in(world.customer)
    url = f"/{world.customer.organisation.slug}/billing/{path}"
    before = client.get(url).content.decode()
    again = client.get(url)
    assert again.context is None, "the repeat view was not served from the cache"
    assert shows not in before

    make(world, admin_client)

    assert shows in client.get(url).content.decode()
