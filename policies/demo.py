from typing import TextIO

from policies.models import CompanyInformation, Policy
from portal_auth.models import Organisation

TERMS = """\
These terms apply to every booking you make with {name}, whether online, by phone or at our desk.

## Your booking

1. A booking is confirmed once we have sent you a confirmation email with its reference.
2. Check the names, dates and times in that email at once, and tell us within **48 hours** if anything is wrong.
3. Every traveller must carry a valid passport or identity card for the whole journey.

## Prices and payment

Prices are shown in euros and include VAT. A deposit of 30 % is due when you book and the rest
**14 days before departure**; bookings made later are paid in full at once.

## Changes

You may change the date of a booking once, free of charge, up to 14 days before departure. Later changes
are treated as a cancellation and a new booking (see our [refund policy](../refunds/)).

If we must change a departure (weather, safety, a vessel out of service) we offer you another date or a
full refund, whichever you prefer.

## Our responsibility

We are responsible for the services we provide. We are not responsible for losses caused by events beyond
our control, such as storms, strikes or closures ordered by the authorities.

## Complaints

Tell our crew at once if something is wrong, so we can put it right. You may also write to
[{email}](mailto:{email}) within 28 days of your return.
"""

PRIVACY = """\
{name} ("we") looks after the personal data you give us when you book, travel or contact us.

## What we keep

- your name, email address and phone number;
- the names and dates of birth of the travellers on a booking, and any accessibility or dietary needs you
  tell us about;
- your bookings, payments and messages to our support team;
- when you signed in to this portal, and from which browser.

## Why

To carry out your bookings, to keep you informed about them, to answer your questions and to meet our
legal duties (accounting records, passenger lists). We never sell your data, and we send you marketing
only if you ask for it.

## How long

Bookings and invoices for **ten years**, as accounting law requires; messages to support for three
years; the record of sign-ins for one year.

## Your rights

You may ask for a copy of your data, ask us to correct or erase it, or object to how we use it. Write to
[{email}](mailto:{email}); we answer within one month. You may also complain to your data protection
authority.
"""

REFUNDS = """\
## Cancelling a booking

| When you cancel | What we refund |
| --- | --- |
| 30 days or more before departure | everything you paid, less a 25 EUR fee |
| 14 to 29 days before | 50 % of the price |
| Less than 14 days before | nothing, unless we can resell your places |

Cancel from your booking in this portal or by writing to [{email}](mailto:{email}).

## When we cancel

If we cancel a departure, you get **everything back**, within 14 days, or another date if you prefer.

## Add-ons

Paid add-ons (meals, cabins, transfers) are refunded in full when cancelled up to 48 hours before
departure.

Refunds go back to the card or account you paid with.
"""


def seed_demo(*, organisation: Organisation, stdout: TextIO) -> None:
    """The organisation's terms, privacy and refund policies, and its company information."""
    email = organisation.support_email or "hello@voyages-lumiere.example"
    made = []
    for order, (kind, text) in enumerate(
        ((Policy.Kind.TERMS, TERMS), (Policy.Kind.PRIVACY, PRIVACY), (Policy.Kind.REFUNDS, REFUNDS))
    ):
        _, created = Policy.objects.get_or_create(
            organisation=organisation,
            kind=kind,
            defaults={
                "title": kind.label,
                "slug": kind.value,
                "order": order,
                "body": text.format(name=organisation.public_name, email=email),
            },
        )
        if created:
            made.append(kind.label.lower())
    CompanyInformation.objects.get_or_create(
        organisation=organisation,
        defaults={
            "legal_name": f"{organisation.name} Ltd",
            "registered_address": "1 Harbour Street\nLisbon 1100-001\nPortugal",
            "company_number": "500 000 000",
            "vat_number": "PT 500 000 000",
            "contact_email": email,
            "contact_phone": organisation.support_phone,
        },
    )
    stdout.write(f"  policies: {', '.join(made)}" if made else "  policies: exist already")
