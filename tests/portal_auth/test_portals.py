"""Several portals per organisation: one identity across them, sections each portal orders, turns off or hides."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from outbox.models import OutboxEmail
from portal_auth.models import Customer, Portal, PortalSection
from portal_auth.portals import customer_page, customer_portal, portal_chooser
from tests.bookings.factories import AttendeeFactory, BookingFactory
from tests.factories import CustomerFactory, OrganisationFactory, primary_portal_of
from tests.tickets.factories import TicketFactory
from tickets.services import ticket_portal_link_send


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Portal">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r">([^<>]+)</a>", nav)


def home_panels(html: str) -> list[str]:
    main = re.search(r'<main id="main".*?</main>', html, re.S).group(0)
    return re.findall(r"<h2[^>]*>(?:<a [^>]*>)?([^<]+)", main)


@pytest.fixture
def second_portal(organisation):
    return Portal.objects.create(organisation=organisation, slug="lumiere-events", name="Lumière Events")


def layout(portal: Portal, *keys: str, off=(), hidden_when_empty=()) -> None:
    """Give the portal's sections this order (the rest after), turning some off and hiding some when empty."""
    for place, key in enumerate(keys, start=1):
        PortalSection.objects.filter(portal=portal, key=key).update(
            position=place, enabled=key not in off, hide_when_empty=key in hidden_when_empty
        )
    PortalSection.objects.filter(portal=portal).exclude(key__in=keys).update(position=100)
    portal.section_layout_refresh()


def test_every_organisation_starts_with_a_primary_portal_at_its_slug(organisation):
    portal = organisation.portals.get()
    assert portal.is_primary and portal.slug == organisation.slug
    assert portal.name == organisation.public_name
    # Each installed section has its row, ready to be ordered.
    assert {row.key for row in portal.sections.all()} >= {"bookings", "tickets", "conversations", "policies"}


def test_one_sign_in_opens_every_portal_of_the_organisation(sign_in, customer, second_portal):
    client = sign_in(customer)

    response = client.get(f"/{second_portal.slug}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Lumière Events" in html and customer.email in html
    assert client.get(f"/{customer.organisation.slug}/").status_code == 200


def test_a_sign_in_opens_no_portal_of_another_organisation(sign_in, customer, other_organisation):
    stranger_portal = Portal.objects.create(organisation=other_organisation, slug="elsewhere", name="Elsewhere")
    client = sign_in(customer)

    for slug in (other_organisation.slug, stranger_portal.slug):
        response = client.get(f"/{slug}/")
        assert response.status_code == 302
        assert response["Location"].startswith(f"/{slug}/sign-in/")


def test_an_address_no_portal_has_is_not_found(client, db):
    assert client.get("/nobody-here/sign-in/").status_code == 404


def test_a_section_turned_off_is_gone_from_that_portal_only(sign_in, customer, second_portal):
    TicketFactory(organisation=customer.organisation, requester=customer)
    layout(second_portal, "bookings", "tickets", off=["tickets"])
    client = sign_in(customer)

    assert client.get(f"/{second_portal.slug}/support/").status_code == 404
    assert client.get(f"/{second_portal.slug}/support/new/").status_code == 404
    html = client.get(f"/{second_portal.slug}/").content.decode()
    assert "Support" not in nav_links(html)
    assert "Support" not in home_panels(html)
    # The primary portal still shows it.
    assert client.get(f"/{customer.organisation.slug}/support/").status_code == 200


def test_a_section_turned_off_answers_not_found_to_visitors_too(client, organisation, second_portal):
    layout(second_portal, "policies", off=["policies"])

    assert client.get(f"/{second_portal.slug}/policies/").status_code == 404
    assert client.get(f"/{organisation.slug}/policies/").status_code == 200


def test_nav_and_home_follow_the_portals_order(sign_in, customer, second_portal):
    TicketFactory(organisation=customer.organisation, requester=customer)
    layout(second_portal, "tickets", "conversations", "bookings")
    client = sign_in(customer)

    html = client.get(f"/{second_portal.slug}/").content.decode()

    nav = nav_links(html)
    assert nav.index("Support") < nav.index("Conversations") < nav.index("My bookings")
    primary_nav = nav_links(client.get(f"/{customer.organisation.slug}/").content.decode())
    assert primary_nav.index("My bookings") < primary_nav.index("Support")


def test_a_section_hidden_when_empty_shows_only_to_a_customer_it_holds_something_for(
    sign_in, customer, second_portal, organisation
):
    layout(second_portal, "tickets", "bookings", hidden_when_empty=["tickets"])
    with_ticket = CustomerFactory(organisation=organisation)
    TicketFactory(organisation=organisation, requester=with_ticket)

    empty_home = sign_in(customer).get(f"/{second_portal.slug}/").content.decode()
    full_home = sign_in(with_ticket).get(f"/{second_portal.slug}/").content.decode()

    assert "Support" not in nav_links(empty_home)
    assert "Support" in nav_links(full_home)
    # Another page's nav knows what the home found, without asking the database.
    client = sign_in(customer)
    client.get(f"/{second_portal.slug}/")
    assert "Support" not in nav_links(client.get(f"/{second_portal.slug}/bookings/").content.decode())


def test_without_the_page_cache_the_homes_nav_leaves_out_what_its_panels_left_out(
    sign_in, customer, second_portal, settings
):
    settings.PAGE_CACHE_ENABLED = False
    layout(second_portal, "tickets", "bookings", hidden_when_empty=["tickets"])

    home = sign_in(customer).get(f"/{second_portal.slug}/").content.decode()

    assert "Support" not in home_panels(home) and "Support" not in nav_links(home)


def test_a_customer_with_only_past_bookings_keeps_bookings_where_they_are_hidden_when_empty(
    sign_in, customer, second_portal
):
    layout(second_portal, "bookings", "tickets", hidden_when_empty=["bookings"])
    today = timezone.localdate()
    for title, days_ago in (("Spring retreat", 90), ("Summer retreat", 30)):
        when = today - timedelta(days=days_ago)
        booking = BookingFactory(organisation=customer.organisation, title=title, starts_on=when, ends_on=when)
        AttendeeFactory(booking=booking, email=customer.email)

    home = sign_in(customer).get(f"/{second_portal.slug}/").content.decode()

    assert "My bookings" in nav_links(home) and "Upcoming bookings" in home_panels(home)
    # Nothing is coming, and the panel says so, then offers the latest booking as the way to the past ones.
    assert "No upcoming bookings." in home and "Summer retreat" in home and "Spring retreat" not in home


def test_a_portal_that_hides_policies_has_no_footer_links_to_them(client, organisation, second_portal):
    organisation.footer_links = {"policies": [{"title": "Terms and conditions", "path": "policies/terms/"}]}
    organisation.save()
    layout(second_portal, "bookings", "policies", off=["policies"])

    assert "Terms and conditions" in client.get(f"/{organisation.slug}/sign-in/").content.decode()
    assert "Terms and conditions" not in client.get(f"/{second_portal.slug}/sign-in/").content.decode()


def test_the_home_keeps_its_query_budget_with_a_layout(sign_in, customer, second_portal, django_assert_max_num_queries):
    TicketFactory(organisation=customer.organisation, requester=customer)
    layout(second_portal, "tickets", "bookings", "conversations", hidden_when_empty=["tickets", "bookings"])
    client = sign_in(customer)
    client.get(f"/{second_portal.slug}/")  # the first visit notes the portal the customer is in: a write of its own
    cache.clear()

    with django_assert_max_num_queries(6):
        response = client.get(f"/{second_portal.slug}/")

    assert response.status_code == 200


def test_emails_lead_to_the_portal_the_customer_was_last_in(sign_in, customer, second_portal, settings):
    settings.SITE_URL = "https://portal.example"
    ticket = TicketFactory(organisation=customer.organisation, requester=customer)
    assert customer_portal(customer).is_primary

    sign_in(customer).get(f"/{second_portal.slug}/")
    customer.refresh_from_db()
    ticket_portal_link_send(ticket=ticket)

    assert customer_portal(customer) == second_portal
    email = OutboxEmail.objects.get(to=customer.email)
    assert f"https://portal.example/{second_portal.slug}/support/portal/" in email.body_text
    assert "Lumière Events" in email.body_html  # the email wears the portal's name


def test_a_notification_email_wears_the_portal_it_leads_to(sign_in, customer, second_portal):
    sign_in(customer).post(
        f"/{second_portal.slug}/support/new/",
        {"subject": "Lost luggage", "body": "A blue suitcase.", "priority": "normal"},
    )

    email = OutboxEmail.objects.get(to=customer.email)
    assert f"/{second_portal.slug}/support/" in email.body_text
    assert "Lumière Events" in email.body_html


def test_back_on_the_primary_portal_emails_lead_there_again(sign_in, customer, second_portal):
    client = sign_in(customer)
    client.get(f"/{second_portal.slug}/")
    client.get(f"/{customer.organisation.slug}/")

    customer.refresh_from_db()
    assert customer.last_portal_id is None and customer_portal(customer).is_primary


def test_making_another_portal_primary_takes_over_and_none_can_stop_being_primary(organisation, second_portal):
    first = primary_portal_of(organisation)

    second_portal.is_primary = True
    second_portal.save()

    first.refresh_from_db()
    assert not first.is_primary and primary_portal_of(organisation) == second_portal
    second_portal.is_primary = False
    with pytest.raises(ValidationError, match="always has a primary portal"):
        second_portal.full_clean()


def test_a_portal_address_is_taken_once_across_organisations(organisation, other_organisation):
    with pytest.raises(ValidationError, match="Address already exists"):
        Portal(organisation=other_organisation, slug=organisation.slug, name="Copy").full_clean()
    Portal.objects.create(organisation=organisation, slug="lumiere-events", name="Events")
    with pytest.raises(ValidationError, match="already has this address"):
        OrganisationFactory.build(slug="lumiere-events", name="Someone else").full_clean()
    with pytest.raises(ValidationError, match="already has this address, in capitals or not"):
        OrganisationFactory.build(slug="Lumiere-Events", name="Someone else").full_clean()


ANY_CASE = "A portal already has this address, in capitals or not; choose another."


def test_a_portal_address_is_taken_once_whatever_its_case(organisation, other_organisation, client):
    look_alike = Portal(organisation=other_organisation, slug=organisation.slug.upper(), name="Look-alike")

    with pytest.raises(ValidationError) as refused:
        look_alike.full_clean()

    assert refused.value.messages == [ANY_CASE]
    with pytest.raises(IntegrityError), transaction.atomic():
        look_alike.save()
    # An address is found as it is stored: a case variant is no other portal, only not found.
    assert client.get(f"/{organisation.slug}/sign-in/").status_code == 200
    assert client.get(f"/{organisation.slug.upper()}/sign-in/").status_code == 404


def test_staff_are_told_an_address_is_taken_in_another_case(admin_client, organisation, second_portal):
    form = portal_change_form(second_portal, [], lambda index, row: {})

    response = admin_client.post(f"/admin/portal_auth/portal/{second_portal.pk}/change/", form | {"slug": "Voyages-X"})
    taken = admin_client.post(
        f"/admin/portal_auth/portal/{second_portal.pk}/change/", form | {"slug": organisation.slug.title()}
    )

    assert response.status_code == 302
    assert taken.status_code == 200 and ANY_CASE in taken.content.decode()
    second_portal.refresh_from_db()
    assert second_portal.slug == "Voyages-X"


@pytest.mark.django_db(transaction=True)
def test_migrating_stops_and_names_the_portals_whose_addresses_differ_only_in_case(migrate):
    apps = migrate([("portal_auth", "0020_help_text_without_angle_brackets")])
    Organisation, Portal = apps.get_model("portal_auth", "Organisation"), apps.get_model("portal_auth", "Portal")
    first, second = (Organisation.objects.create(name=slug, slug=slug) for slug in ("voyages", "reisen"))
    Portal.objects.create(organisation=first, slug="voyages", name="Voyages", is_primary=True)
    Portal.objects.create(organisation=second, slug="VOYAGES", name="Look-alike")

    with pytest.raises(RuntimeError, match=r"differ only in case: /voyages/ and /VOYAGES/\. Give each but one"):
        migrate([("portal_auth", "0021_portal_slug_unique_in_any_case")])

    Portal.objects.filter(slug="VOYAGES").update(slug="reisen")
    apps = migrate([("portal_auth", "0021_portal_slug_unique_in_any_case")])
    slugs = apps.get_model("portal_auth", "Portal").objects.values_list("slug", flat=True)
    assert sorted(slugs) == ["reisen", "voyages"]


def test_create_portal_adds_a_portal_and_refuses_bad_input(organisation, capsys):
    call_command("create_portal", organisation.slug, "Lumière Events", "--accent-colour", "#0f5c8a")

    portal = Portal.objects.get(slug="lumiere-events")
    assert portal.organisation == organisation and not portal.is_primary and portal.accent_colour == "#0f5c8a"
    assert "/lumiere-events/" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No organisation"):
        call_command("create_portal", "nobody", "Anything")
    with pytest.raises(CommandError, match="slug"):
        call_command("create_portal", organisation.slug, "Admin", "--slug", "admin")
    assert Portal.objects.filter(organisation=organisation).count() == 2


def portal_change_form(portal, rows, row_fields) -> dict:
    """The portal's admin form as posted, with each section row's fields given by row_fields(index, row)."""
    form = {
        "organisation": portal.organisation_id,
        "name": portal.name,
        "slug": portal.slug,
        "accent_colour": portal.accent_colour,
        "accent_text_colour": portal.accent_text_colour,
        "sections-TOTAL_FORMS": len(rows),
        "sections-INITIAL_FORMS": len(rows),
        "sections-MIN_NUM_FORMS": 0,
        "sections-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        fields = {"id": row.pk, "portal": portal.pk, "position": row.position, **row_fields(index, row)}
        form |= {f"sections-{index}-{name}": value for name, value in fields.items()}
    return form


def test_staff_order_sections_by_number_without_javascript(admin_client, second_portal):
    rows = list(second_portal.sections.order_by("position"))
    url = f"/admin/portal_auth/portal/{second_portal.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    # The last section is numbered first, the others after it: what staff without JavaScript can do.
    form = portal_change_form(
        second_portal,
        rows,
        lambda index, row: {
            "enabled": "on" if row.key != "conversations" else "",
            "place": 1 if index == len(rows) - 1 else index + 2,
        },
    )

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    second_portal.refresh_from_db()
    keys = [entry["key"] for entry in second_portal.section_layout]
    assert keys[0] == rows[-1].key
    assert {entry["key"]: entry["enabled"] for entry in second_portal.section_layout}["conversations"] is False


def test_staff_cannot_change_which_section_a_row_is_nor_add_or_remove_rows(admin_client, second_portal):
    rows = list(second_portal.sections.order_by("position"))
    url = f"/admin/portal_auth/portal/{second_portal.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="sections-0-key"' not in page and 'name="sections-0-DELETE"' not in page
    form = portal_change_form(
        second_portal,
        rows,
        lambda index, row: {
            "key": "tickets" if index == 0 else row.key,  # ignored: the key is not a field here
            "enabled": "on",
            "DELETE": "on",  # ignored: rows can't be deleted here
        },
    )

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(second_portal.sections.values_list("key", flat=True)) == sorted(row.key for row in rows)


def test_an_email_leads_to_a_portal_that_shows_its_section(customer, second_portal):
    """The customer was last in a portal that hides Support: their ticket emails lead to the primary one."""
    primary = customer.organisation.portals.get(is_primary=True)
    layout(second_portal, "bookings", "tickets", off=["tickets"])
    Customer.objects.filter(pk=customer.pk).update(last_portal=second_portal)
    customer.refresh_from_db()

    assert customer_page(customer, "tickets:list") == f"/{primary.slug}/support/"
    assert customer_page(customer, "bookings:list") == f"/{second_portal.slug}/bookings/"  # shown there: kept
    assert portal_chooser(customer.organisation_id, "tickets")(customer) == primary
    # When the primary portal hides it too, the first portal that shows it.
    layout(primary, "bookings", "tickets", off=["tickets"])
    third = Portal.objects.create(organisation=customer.organisation, slug="third", name="Third")
    assert customer_portal(customer, "tickets") == third


def test_a_portal_created_primary_takes_over_from_the_command_and_the_admin(organisation):
    old = organisation.portals.get(is_primary=True)

    call_command("create_portal", organisation.slug, "Lumière Events", "--primary")

    assert organisation.portals.get(is_primary=True).slug == "lumiere-events"
    old.refresh_from_db()
    assert not old.is_primary
    # As the admin's add form checks it, primary ticked: valid, as save() takes over.
    Portal(organisation=organisation, slug="harbour", name="Harbour", is_primary=True).full_clean()
