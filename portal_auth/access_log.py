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
        ip=client_ip(request) if request is not None and request.META.get("REMOTE_ADDR") else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else "",
        staff_user=staff_user,
        token=token,
    )
