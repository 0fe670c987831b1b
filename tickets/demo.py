"""Demo data for `manage.py seed_demo`: tickets of alice@example.com and bob@example.com, and a link for Alice."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal_auth.doors.access_link.services import access_link_url
from portal_auth.models import CustomerToken, Organisation
from portal_auth.portals import primary_portal
from portal_auth.services import customer_get_or_create
from tickets.models import Company, Ticket, TicketMessage, TicketSettings, author_name_for
from tickets.services import LINK_ROUTE, ticket_number_take, ticket_path

ALICE = ("alice@example.com", "Alice Martin")
BOB = ("bob@example.com", "Bob Okafor")

# (requester, subject, status, priority, days ago, messages as (from customer?, internal?, body))
DEMO_TICKETS = [
    (
        ALICE,
        "Change of flight for the Lisbon city break",
        Ticket.Status.OPEN,
        Ticket.Priority.HIGH,
        3,
        [
            (True, False, "Hello, could we fly out a day later, on the Friday? Same return flight."),
            (False, True, "Checked with the airline: Friday has seats, 40 EUR change fee each."),
            (False, False, "Hello Alice, Friday works. The change costs 40 EUR per person. Shall we go ahead?"),
        ],
    ),
    (
        ALICE,
        "Invoice with my company's address",
        Ticket.Status.SOLVED,
        Ticket.Priority.NORMAL,
        20,
        [
            (True, False, "Please reissue the invoice to Martin & Co, 12 Rue des Fleurs, Lyon."),
            (False, False, "Done: the new invoice is attached to your booking."),
        ],
    ),
    (
        BOB,
        "Vegetarian meals on the Alps walking week",
        Ticket.Status.NEW,
        Ticket.Priority.LOW,
        1,
        [(True, False, "I'm vegetarian: are the mountain hut dinners OK for me?")],
    ),
]


def seed_demo(*, organisation: Organisation, stdout) -> None:
    if organisation.tickets.exists():
        stdout.write("  Tickets exist already; none added.\n")
        return
    TicketSettings.objects.get_or_create(
        organisation=organisation,
        defaults={
            "customer_access": TicketSettings.CustomerAccess.CONTACT_OR_COMPANY,
            "link_on_staff_ticket": True,
        },
    )
    agent = get_user_model().objects.filter(is_staff=True).order_by("pk").first()
    customers = {
        email: customer_get_or_create(organisation=organisation, email=email, name=name) for email, name in (ALICE, BOB)
    }
    company = Company.objects.create(organisation=organisation, name="Martin & Co")
    company.members.add(customers[ALICE[0]])
    now = timezone.now()
    opened_tickets: list[Ticket] = []
    for (email, _), subject, status, priority, days_ago, messages in DEMO_TICKETS:
        opened = now - timedelta(days=days_ago)
        ticket = Ticket.objects.create(
            organisation=organisation,
            number=ticket_number_take(organisation=organisation),
            requester=customers[email],
            company=company if email == ALICE[0] else None,
            subject=subject,
            status=status,
            priority=priority,
            assigned_agent=agent,
            created_at=opened,
            updated_at=opened + timedelta(hours=len(messages)),
        )
        for position, (from_customer, internal, body) in enumerate(messages):
            TicketMessage.objects.create(
                ticket=ticket,
                author_customer=customers[email] if from_customer else None,
                author_staff=None if from_customer else agent,
                author_name=author_name_for(customer=customers[email] if from_customer else None, staff=agent),
                internal=internal,
                body=body,
                created_at=opened + timedelta(hours=position + 1),
            )
        opened_tickets.append(ticket)
        stdout.write(f"  #{ticket.number} {subject} ({ticket.get_status_display()}) for {email}\n")
    first = opened_tickets[0]
    # Printed for the demo only: a real link exists nowhere but in the customer's email.
    token, raw = CustomerToken.issue(
        customer=customers[ALICE[0]],
        purpose=CustomerToken.Purpose.ACCESS_LINK,
        lifetime=settings.ACCESS_LINK_LIFETIME,
        next_path=ticket_path(first, primary_portal(organisation)),
    )
    url = access_link_url(next_path=token.next_path, link_route=LINK_ROUTE, raw=raw)
    stdout.write(f"  Alice's portal link to ticket #{first.number} (signs her in until {token.expires_at:%d %b %Y}):\n")
    stdout.write(f"    {url}\n")
