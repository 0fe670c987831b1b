"""The doors' "answer first, work after" requests, as tasks that carry plain values, never the request.

A view enqueues one with `task_enqueue` and answers the same whether or not the email is known: the look-up,
the token and the email happen here, in the worker, where no response's timing can tell them apart.
"""

from django.http import HttpRequest
from django.tasks import task

from portal_auth.access_links import AccessLinkDoor, access_link_request
from portal_auth.models import Organisation
from portal_auth.ratelimit import client_ip
from portal_auth.services import password_link_send

Origin = dict[str, str | None]  # {"ip": …, "user_agent": …}
USER_AGENT_MAX_LENGTH = 300  # what the access log keeps of it


def request_origin(request: HttpRequest) -> Origin:
    """Where a request came from, as the access log records it (no address when unknown): plain values for a task."""
    address = client_ip(request)
    return {
        "ip": address if address != "unknown" else None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
    }


@task
def password_link_send_task(*, organisation_id: int, email: str, origin: Origin) -> None:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:  # else deleted since: nobody to write to
        password_link_send(request=_as_request(origin), organisation=organisation, email=email)


@task
def access_link_request_task(*, organisation_id: int, email: str, door: dict[str, str], origin: Origin) -> None:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        access_link_request(
            request=_as_request(origin), organisation=organisation, email=email, door=AccessLinkDoor(**door)
        )


def _as_request(origin: Origin) -> HttpRequest:
    # The services record an origin from a request's META; the address was already resolved from the proxies'.
    request = HttpRequest()
    request.META = {"REMOTE_ADDR": origin["ip"] or "", "HTTP_USER_AGENT": origin["user_agent"] or ""}
    return request
