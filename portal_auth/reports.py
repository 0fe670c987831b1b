"""The portal usage report for staff: when customers opened the portal, from the access log."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from portal_auth.models import AccessEvent, Customer, Organisation

REPORT_DAYS = 30
CUSTOMERS_SHOWN = 50


@dataclass(frozen=True)
class Day:
    day: date
    opens: int
    via_link: int
    percent: int  # of the busiest day, for the bar's height


@dataclass(frozen=True)
class Usage:
    days: list[Day]
    total_opens: int
    customers: list[Customer]  # annotated with opens_in_period, most recent first


def portal_usage(*, organisation: Organisation | None = None, days: int = REPORT_DAYS) -> Usage:
    """Portal sessions opened per day (every door ends in a SIGN_IN event) and each customer's last visit."""
    today = timezone.localdate()
    first_day = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, time.min))
    events = AccessEvent.objects.filter(kind=AccessEvent.Kind.SIGN_IN, created_at__gte=since)
    customers = Customer.objects.filter(last_sign_in_at__isnull=False)
    if organisation is not None:
        events = events.filter(organisation=organisation)
        customers = customers.filter(organisation=organisation)
    per_day = {
        row["day"]: row
        for row in events.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(opens=Count("pk"), via_link=Count("pk", filter=Q(method="access_link")))
    }
    busiest = max((row["opens"] for row in per_day.values()), default=0)
    series = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = per_day.get(day, {"opens": 0, "via_link": 0})
        percent = round(100 * row["opens"] / busiest) if busiest else 0
        series.append(Day(day=day, opens=row["opens"], via_link=row["via_link"], percent=percent))
    opens_in_period = (
        AccessEvent.objects.filter(customer=OuterRef("pk"), kind=AccessEvent.Kind.SIGN_IN, created_at__gte=since)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    recent = (
        customers.select_related("organisation")
        .annotate(opens_in_period=Subquery(opens_in_period))
        .order_by("-last_sign_in_at")[:CUSTOMERS_SHOWN]
    )
    return Usage(days=series, total_opens=sum(d.opens for d in series), customers=list(recent))
