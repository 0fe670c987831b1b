"""The identity API: whether an end user has portal access, a sign-in URL for them, and provisioning them.

An end user is named by the business's own id (`external_id`) or as `email:<address>`; every look-up is
scoped to the calling key's organisation, so another organisation's customer is a 404 like a missing one.
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from portal_auth.doors.api_redirect.services import (
    RedirectsClosed,
    ReturnToRefused,
    return_to_checked,
    sign_in_redirect_issue,
)
from portal_auth.doors.registry import API_REDIRECT, door_is_open
from portal_auth.models import ApiKey, Customer, Organisation, normalise_email
from portal_auth.portal_sections import portal_sections
from portal_auth.portals import customer_portal, portal_path
from portal_auth.services import CustomerConflict, customer_get_or_create, customer_provision, organisation_knows_email
from portal_core.api import ERRORS, ApiError, ErrorOut
from portal_core.origin import ClientOrigin
from portal_core.text import has_invisible_formatting, has_unstorable, one_line

router = Router(tags=["customers"])

EMAIL_PREFIX = "email:"
ID_DESCRIPTION = "The business's own id for the end user (`external_id`), or `email:<address>`."


class CustomerOut(Schema):
    external_id: str | None = Field(description="The business's id for the end user; null if it has none yet.")
    email: str
    name: str


class SectionOut(Schema):
    key: str
    title: str
    url: str


class AccessOut(Schema):
    customer: CustomerOut
    has_access: bool = Field(description="Whether a sign-in URL made now would sign the end user in.")
    sections: list[SectionOut] = Field(description="The portal's sections that hold something for the end user.")


class PortalSessionIn(Schema):
    customer: str = Field(max_length=300, description=ID_DESCRIPTION)
    return_to: str = Field("", max_length=300, description="A path inside the portal; its home when empty.")


class PortalSessionOut(Schema):
    id: str
    url: str = Field(description="Opens a portal session for the end user: once, within 30 seconds.")
    expires_at: datetime


# As the customer's row holds it.
EMAIL_MAX_LENGTH: int = Customer._meta.get_field("email").max_length or 254


class CustomerIn(Schema):
    email: str = Field(max_length=EMAIL_MAX_LENGTH)
    name: str = Field("", max_length=200)


def _organisation(request: HttpRequest) -> Organisation:
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    return key.organisation


def _not_found() -> ApiError:
    return ApiError(404, "customer_not_found", "No end user of this organisation has that id.")


def _storable(text: str) -> bool:
    return bool(text) and text.isprintable()


def _customer(organisation: Organisation, ident: str, *, create: bool = False) -> Customer:
    """The end user `ident` names, in `organisation` only. By email, one the organisation knows (any section's
    records) but has no customer record for yet is made in memory, or saved with `create`."""
    if not _storable(ident):
        raise _not_found()
    if not ident.startswith(EMAIL_PREFIX):
        customer = Customer.objects.filter(organisation=organisation, external_id=ident).first()
        if customer is None:
            raise _not_found()
        return customer
    email = normalise_email(ident.removeprefix(EMAIL_PREFIX))
    try:
        validate_email(email)  # "email:" with nothing after it is no one's, not the attendees' who have none
    except ValidationError:
        raise _not_found() from None
    customer = Customer.objects.filter(organisation=organisation, email=email).first()
    if customer is not None:
        return customer
    if len(email) > 254 or not organisation_knows_email(organisation, email):
        raise _not_found()
    if create:
        return customer_get_or_create(organisation=organisation, email=email)
    return Customer(organisation=organisation, email=email)


def _customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(external_id=customer.external_id or None, email=customer.email, name=customer.name)


@router.get("/customers/{id}/access", response={200: AccessOut, **ERRORS}, summary="Whether an end user has access")
def customer_access(request, id: str):
    """Whether to show the end user a "Portal" button: their access, and what the portal holds for them."""
    organisation = _organisation(request)
    customer = _customer(organisation, id)
    portal = customer_portal(customer)
    # The sections the customer's portal shows, in its order.
    shown = [placed.section for placed in portal_sections(portal)]
    held = [
        SectionOut(
            key=section.key,
            title=section.title,
            url=settings.SITE_URL + portal_path(portal, section.list_url_name),
        )
        for section in shown
        if _holds(section, organisation, customer)
    ]
    return AccessOut(
        customer=_customer_out(customer),
        has_access=customer.is_active and door_is_open(organisation, API_REDIRECT),
        sections=held,
    )


def _holds(section, organisation: Organisation, customer: Customer) -> bool:
    """Whether the section holds something for the customer: by their email (what the section keeps under it), or,
    for a customer already known, by what their home shows of it (tickets of their company, say)."""
    if section.knows_email and section.knows_email(organisation, customer.email):
        return True
    return customer.pk is not None and section.home_items is not None and bool(list(section.home_items(customer)))


def _portal_session(request: HttpRequest, response: HttpResponse, ident: str, return_to: str) -> PortalSessionOut:
    organisation = _organisation(request)
    try:
        path = return_to_checked(organisation=organisation, return_to=return_to)
    except ReturnToRefused as refused:
        raise ApiError(422, "invalid_return_to", str(refused)) from None
    customer = _customer(organisation, ident)
    if not customer.is_active:
        raise ApiError(403, "customer_inactive", "This end user's portal access has been withdrawn.")
    if not door_is_open(organisation, API_REDIRECT):
        raise ApiError(403, "door_closed", "Sign-in URLs from the business's app are not open for this organisation.")
    customer = _customer(organisation, ident, create=True)
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    try:
        token, url = sign_in_redirect_issue(
            organisation=organisation,
            customer=customer,
            return_to=path,
            key_name=key.name,
            origin=ClientOrigin.from_request(request),
        )
    except RedirectsClosed as closed:
        raise ApiError(403, "door_closed", str(closed)) from None
    # The URL signs someone in: no cache along the way may keep it.
    response["Cache-Control"] = "no-store"
    return PortalSessionOut(id=f"ps_{token.pk}", url=url, expires_at=token.expires_at)


LINK_ERRORS = {**ERRORS, 403: ErrorOut}


@router.post(
    "/portal-sessions",
    response={201: PortalSessionOut, **LINK_ERRORS},
    summary="A sign-in URL for an end user",
    tags=["portal sessions"],
)
def portal_session_create(request, response: HttpResponse, payload: PortalSessionIn):
    """A URL that signs the end user in and lands on `return_to`: valid 30 seconds, once. Open it in their browser."""
    return Status(201, _portal_session(request, response, payload.customer, payload.return_to))


@router.get(
    "/customers/{id}/portal-link",
    response={200: PortalSessionOut, **LINK_ERRORS},
    summary="A sign-in URL for an end user (GET form)",
    tags=["portal sessions"],
)
def customer_portal_link(request, response: HttpResponse, id: str, return_to: str = ""):
    """The same as `POST /portal-sessions` with `{"customer": id, "return_to": return_to}`, as a GET."""
    return _portal_session(request, response, id, return_to)


@router.put(
    "/customers/{external_id}",
    response={200: CustomerOut, 201: CustomerOut, **ERRORS, 409: ErrorOut},
    summary="Create or update an end user",
)
def customer_put(request, external_id: str, payload: CustomerIn):
    """Provision the end user the business names `external_id` before their first click, or update them."""
    organisation = _organisation(request)
    if not _storable(external_id) or len(external_id) > 128 or external_id.startswith(EMAIL_PREFIX):
        raise ApiError(422, "invalid_external_id", "An external id is 1 to 128 printable characters, not email:….")
    email = normalise_email(payload.email)
    try:
        # Measured once normalised: lower case may be longer ("İ" is two characters lower-cased).
        if not _storable(email) or len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError("unstorable")
        validate_email(email)
    except ValidationError:
        raise ApiError(422, "invalid_email", "Give a valid email address.") from None
    # On one line, as the profile keeps it; any character someone's name may hold, none that can't be stored or
    # that would disguise it.
    name = one_line(payload.name)
    if has_unstorable(name):
        raise ApiError(422, "invalid_name", "A name is text without control characters.")
    if has_invisible_formatting(name):
        raise ApiError(
            422,
            "invalid_name",
            "A name is text without invisible formatting characters (such as a right-to-left mark or a zero-width "
            "space).",
        )
    try:
        customer, created = customer_provision(
            organisation=organisation, external_id=external_id, email=email, name=name
        )
    except CustomerConflict as conflict:
        raise ApiError(409, "email_taken", str(conflict)) from None
    return Status(201 if created else 200, _customer_out(customer))
