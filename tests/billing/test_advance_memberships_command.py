"""The daily command: renewals, expiries and the reminder a week before a renewal, across month ends and leap days."""

import datetime

import pytest
import time_machine
from django.core.management import call_command

from billing.models import Membership
from billing.services import membership_start
from outbox.models import OutboxEmail

D = datetime.date


def advance(today):
    call_command("advance_memberships", f"--today={today.isoformat()}", verbosity=0)


@pytest.fixture
def membership(customer, make_plan):
    return membership_start(customer=customer, plan=make_plan(), started_on=D(2027, 1, 31))


def test_a_new_membership_renews_a_period_after_it_started(membership):
    assert membership.period_ends_on == D(2027, 2, 28)


def test_an_active_membership_renews_on_its_day_across_month_ends(membership):
    advance(D(2027, 2, 27))
    membership.refresh_from_db()
    assert membership.period_ends_on == D(2027, 2, 28)
    advance(D(2027, 2, 28))
    membership.refresh_from_db()
    assert (membership.status, membership.period_ends_on) == ("active", D(2027, 3, 31))


def test_a_yearly_membership_started_on_a_leap_day(customer, make_plan):
    membership = membership_start(customer=customer, plan=make_plan(period="year"), started_on=D(2028, 2, 29))
    assert membership.period_ends_on == D(2029, 2, 28)
    advance(D(2029, 2, 28))
    membership.refresh_from_db()
    assert membership.period_ends_on == D(2030, 2, 28)
    for year in (2030, 2031):
        advance(D(year, 2, 28))
    membership.refresh_from_db()
    assert membership.period_ends_on == D(2032, 2, 29)


def test_a_command_that_did_not_run_for_months_catches_up_once(membership):
    advance(D(2027, 6, 15))
    membership.refresh_from_db()
    assert membership.period_ends_on == D(2027, 6, 30)


def test_a_cancelled_membership_expires_at_the_end_of_its_period(membership):
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.CANCELLED)
    advance(D(2027, 2, 27))
    membership.refresh_from_db()
    assert membership.status == "cancelled"
    advance(D(2027, 2, 28))
    membership.refresh_from_db()
    assert (membership.status, membership.period_ends_on) == ("expired", D(2027, 2, 28))


def test_a_paused_membership_neither_renews_nor_is_reminded(membership):
    Membership.objects.filter(pk=membership.pk).update(status=Membership.Status.PAUSED)
    advance(D(2027, 3, 5))
    membership.refresh_from_db()
    assert (membership.status, membership.period_ends_on) == ("paused", D(2027, 2, 28))
    assert not OutboxEmail.objects.exists()


def test_the_customer_is_reminded_once_a_week_before_each_renewal(membership, customer):
    advance(D(2027, 2, 20))
    assert not OutboxEmail.objects.exists()
    advance(D(2027, 2, 21))
    advance(D(2027, 2, 22))  # again the next day: no second email
    (email,) = OutboxEmail.objects.all()
    assert email.to == customer.email
    assert email.subject == "Your Voyager Club membership renews on 28 February 2027"
    assert "30.00 EUR a month" in email.body_text
    assert f"/{customer.organisation.slug}/billing/membership/" in email.body_text
    advance(D(2027, 2, 28))
    advance(D(2027, 3, 24))  # a week before 31 March: the next period's reminder
    assert OutboxEmail.objects.count() == 2
    assert "31 March 2027" in OutboxEmail.objects.latest("pk").subject


def test_a_late_run_reminds_of_a_renewal_less_than_a_week_away(membership):
    advance(D(2027, 2, 26))
    assert OutboxEmail.objects.count() == 1


def test_each_organisation_is_advanced_on_its_own_date(membership, customer):
    """01:00 on 28 February in Auckland is still 27 February in UTC: Auckland's memberships renew that night."""
    organisation = customer.organisation
    organisation.time_zone = "Pacific/Auckland"
    organisation.save()

    with time_machine.travel(datetime.datetime(2027, 2, 27, 12, tzinfo=datetime.UTC), tick=False):
        call_command("advance_memberships", verbosity=0)

    membership.refresh_from_db()
    assert membership.period_ends_on == D(2027, 3, 31)


def test_a_membership_resumed_by_staff_as_the_command_expires_it_stays_active(membership, monkeypatch):
    from billing import services

    membership.status = Membership.Status.CANCELLED
    membership.save()
    real = services._locked

    def resumed_first(queryset, pk):  # staff resume it after the command listed it as ended
        Membership.objects.filter(pk=pk).update(status=Membership.Status.ACTIVE)
        return real(queryset, pk)

    monkeypatch.setattr(services, "_locked", resumed_first)
    advance(D(2027, 3, 1))

    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE


def test_a_membership_that_can_not_be_renewed_holds_up_no_other(membership, make_plan, caplog):
    from django.core.management.base import CommandError

    from tests.billing.factories import PlanFactory
    from tests.factories import CustomerFactory, OrganisationFactory

    # Written before the admin refused such a start: its renewal would end in the year 10000.
    Membership.objects.filter(pk=membership.pk).update(started_on=D(9999, 12, 15))
    elsewhere = OrganisationFactory()
    other = membership_start(
        customer=CustomerFactory(organisation=elsewhere),
        plan=PlanFactory(organisation=elsewhere),
        started_on=D(2027, 1, 31),
    )

    with pytest.raises(CommandError, match=rf"1 could not be moved on \(memberships {membership.pk}\): see the log"):
        advance(D(2027, 3, 5))

    other.refresh_from_db()
    assert other.period_ends_on == D(2027, 3, 31)
    membership.refresh_from_db()
    assert membership.period_ends_on == D(2027, 2, 28)
    assert f"Membership {membership.pk} could not be moved on" in caplog.text
