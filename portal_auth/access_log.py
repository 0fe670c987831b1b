from portal_auth.models import AccessEvent
from portal_auth.ratelimit import client_ip


def log_access(
    request,
    *,
    organisation,
    kind: str,
    customer=None,
    method: str = "",
    email: str = "",
    reason: str = "",
    staff_user=None,
    token=None,
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


def _address(request) -> str | None:
    if request is None:
        return None
    address = client_ip(request)
    return address if address != "unknown" else None
