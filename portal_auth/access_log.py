from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from portal_auth.models import AccessEvent, Customer, CustomerToken, Organisation
from portal_auth.ratelimit import client_ip


def log_access(
    request: HttpRequest | None,
    *,
    organisation: Organisation,
    kind: str,
    customer: Customer | None = None,
    method: str = "",
    email: str = "",
    reason: str = "",
    staff_user: AbstractBaseUser | None = None,
    token: CustomerToken | None = None,
) -> AccessEvent:
    return AccessEvent.objects.create(
        organisation=organisation,
        customer=customer,
        kind=kind,
        method=method,
        email=(email or (customer.email if customer else ""))[:254],
        reason=reason[:200],
        ip=_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "",
        staff_user=staff_user,
        token=token,
    )


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    address = client_ip(request)
    return address if address != "unknown" else None
