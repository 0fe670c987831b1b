"""The doors' "answer first, work after" requests, as tasks that carry plain values, never the request.

A view enqueues one with `task_enqueue` and answers the same whether or not the email is known: the look-up,
the token and the email happen here, in the worker, where no response's timing can tell them apart.
"""

from dataclasses import asdict

from django.tasks import task

from portal_auth.doors.access_link.services import AccessLinkDoor, access_link_request
from portal_auth.doors.email_code.services import sign_in_code_send
from portal_auth.models import Organisation, Portal
from portal_auth.services import password_link_send
from portal_core.origin import ClientOrigin

Origin = dict[str, str | None]  # ClientOrigin's fields: {"ip": …, "user_agent": …}


def origin_values(origin: ClientOrigin) -> Origin:
    """A client origin as the plain values a task carries."""
    return asdict(origin)


@task
def password_link_send_task(*, organisation_id: int, email: str, origin: Origin, portal_id: int | None = None) -> None:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:  # else deleted since: nobody to write to
        portal = _portal(organisation, portal_id)
        password_link_send(origin=_origin(origin), organisation=organisation, email=email, portal=portal)


@task
def access_link_request_task(
    *,
    organisation_id: int,
    email: str,
    door: dict[str, str],
    origin: Origin,
    portal_id: int | None = None,
    next_path: str = "",
) -> None:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        access_link_request(
            origin=_origin(origin),
            organisation=organisation,
            email=email,
            door=AccessLinkDoor(**door),
            portal=_portal(organisation, portal_id),
            next_path=next_path,
        )


@task
def sign_in_code_send_task(*, organisation_id: int, email: str, browser: str, origin: Origin) -> None:
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        sign_in_code_send(origin=_origin(origin), organisation=organisation, email=email, browser=browser)


def _portal(organisation: Organisation, portal_id: int | None) -> Portal | None:
    """The portal the request came from, where its emailed link leads (None: the customer's own portal)."""
    return Portal.objects.filter(organisation=organisation, pk=portal_id).first() if portal_id else None


def _origin(values: Origin) -> ClientOrigin:
    return ClientOrigin(ip=values.get("ip"), user_agent=values.get("user_agent") or "")
