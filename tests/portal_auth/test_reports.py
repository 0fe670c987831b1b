"""The admin's portal usage report: last visit per customer and sessions opened per day."""

from datetime import timedelta

import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from portal_auth.models import AccessEvent
from portal_auth.reports import portal_usage
from tests.factories import CustomerFactory, StaffUserFactory

REPORT = "/admin/portal_auth/accessevent/portal-usage/"


def staff_who_may_view(*codenames: str) -> Client:
    clerk = StaffUserFactory(is_superuser=False)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(clerk)
    return client


def open_portal(sign_in, customer, method):
    sign_in(customer, method=method)


def test_counts_opens_per_day_and_the_last_visit_of_each_customer(sign_in, organisation, other_organisation):
    alice = CustomerFactory(organisation=organisation, email="alice@example.com")
    bob = CustomerFactory(organisation=organisation, email="bob@example.com")
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=2)):
        sign_in(alice, method="access_link")
        sign_in(alice, method="password")
    with time_machine.travel(now - timedelta(days=40)):  # outside the 30 days
        sign_in(bob, method="access_link")
    sign_in(bob, method="access_link")
    sign_in(CustomerFactory(organisation=other_organisation), method="password")

    usage = portal_usage(organisation=organisation)

    assert len(usage.days) == 30
    by_day = {d.day: (d.opens, d.via_link, d.percent) for d in usage.days}
    assert by_day[timezone.localdate(now - timedelta(days=2))] == (2, 1, 100)
    assert by_day[timezone.localdate(now)] == (1, 1, 50)
    assert usage.total_opens == 3
    assert [(c.email, c.opens_in_period) for c in usage.customers] == [("bob@example.com", 1), ("alice@example.com", 2)]
    assert portal_usage().total_opens == 4


def test_the_report_page_shows_the_chart_and_the_customers(admin_client, sign_in, customer):
    sign_in(customer, method="access_link")
    response = admin_client.get(REPORT, {"organisation": customer.organisation.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Portal opened per day" in page
    assert page.count('class="usage-bar"') == 30
    # Heights come from a nonce-carrying <style>: the Content-Security-Policy refuses style attributes.
    assert "#usage-day-30 .usage-bar-fill { height: 100% }" in page
    assert "#usage-day-30 .usage-bar-link { height: 100% }" in page
    assert 'style="' not in page
    assert customer.email in page
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN).count() == 1


def test_the_report_ignores_a_bad_organisation_filter(admin_client):
    assert admin_client.get(REPORT, {"organisation": "'; drop"}).status_code == 200


def test_customers_do_not_see_the_report(client, sign_in, customer):
    response = sign_in(customer).get(REPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_access_events_list_links_the_report(admin_client):
    page = admin_client.get("/admin/portal_auth/accessevent/").content.decode()
    assert f'href="{REPORT}"' in page


def test_staff_who_may_view_access_events_read_the_report(customer, sign_in):
    sign_in(customer, method="access_link")
    response = staff_who_may_view("view_accessevent").get(REPORT)
    assert response.status_code == 200
    assert customer.email in response.content.decode()


def test_staff_who_may_not_view_access_events_are_refused_the_report_and_its_link(customer, sign_in):
    sign_in(customer, method="access_link")
    ticket_clerk = staff_who_may_view("view_ticket")
    response = ticket_clerk.get(REPORT)
    assert response.status_code == 403
    assert customer.email not in response.content.decode()
    tickets = ticket_clerk.get("/admin/tickets/ticket/")
    assert tickets.status_code == 200
    assert REPORT not in tickets.content.decode()
