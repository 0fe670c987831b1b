from functools import wraps

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bookings.forms import AddOnBookingForm, AddOnCancellationForm, BookingDocumentForm
from bookings.models import Booking, BookingSettings
from bookings.selectors import (
    BookingNotLinked,
    add_ons_for,
    documents_for,
    get_add_on_for,
    get_booked_add_on_for,
    get_booking_by_link,
    get_booking_for,
    get_document_for,
    past_bookings_for,
    upcoming_bookings_for,
)
from bookings.services import (
    booking_add_on_book,
    booking_add_on_cancel,
    booking_add_on_cancellation_deadline,
    booking_document_upload,
)
from portal_auth.access_log import refused_look_log
from portal_auth.decorators import customer_required, organisation_page, post_only, sign_in_url
from portal_auth.drafts import draft_restore, draft_take
from portal_auth.models import Organisation
from portal_auth.page_cache import cached_page
from portal_auth.types import PortalRequest
from portal_core import page_cache
from portal_core.origin import ClientOrigin
from portal_core.uploads import stored_file_download

PAST_BOOKINGS_PER_PAGE = 20


def _booking_path(organisation, reference: str) -> str:
    return reverse("bookings:detail", kwargs={"org": organisation.slug, "reference": reference})


@never_cache
@cached_page
@customer_required
def booking_list(request, organisation, customer):
    past = Paginator(past_bookings_for(customer), PAST_BOOKINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bookings/booking_list.html",
        {"upcoming": upcoming_bookings_for(customer), "past": past},
    )


@never_cache
@cached_page
@organisation_page
def booking_detail(request: PortalRequest, organisation: Organisation, reference: str) -> HttpResponse:
    """The booking link. Whether it needs a sign-in is the organisation's choice."""
    customer = request.portal_customer
    if customer is None and organisation.requires_sign_in:
        # Before any look-up: the sign-in page must not tell whether the booking exists.
        return redirect(sign_in_url(organisation, request.get_full_path()))
    try:
        booking = get_booking_for(customer, reference) if customer else get_booking_by_link(organisation, reference)
    except BookingNotLinked as refusal:
        if organisation.requires_sign_in:
            return _not_linked(request, organisation, reference, refusal)
        # The link alone opens the booking here, but only an attendee may change it; and the page is not
        # kept, as its changes make stale the pages of its attendees, not of whoever holds the link.
        booking = get_booking_by_link(organisation, reference)
        return page_cache.not_for_keeping(_booking_page(request, booking, None))
    return _booking_page(request, booking, customer)


def _form_path(booking: Booking, route: str) -> str:
    return reverse(route, kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def _booking_page(request, booking: Booking, customer, *, document_form=None, status=200):
    """The booking page; `customer` is None when the visitor may only read it."""
    booked_add_ons, offered_add_ons = add_ons_for(booking)
    if customer and document_form is None:
        form = BookingDocumentForm(request=request, customer=customer)
        document_form = draft_restore(request, form, action=_form_path(booking, "bookings:document_upload"))
    context = {
        "booking": booking,
        "customer": customer,
        "booked_add_ons": booked_add_ons,
        "offered_add_ons": offered_add_ons,
        "documents": documents_for(customer, booking) if customer else [],
        "document_form": document_form,
        "sign_in_url": sign_in_url(booking.organisation, request.path),
    }
    return render(request, "bookings/booking_detail.html", context, status=status)


def _not_linked(
    request: PortalRequest, organisation: Organisation, reference: str, refusal: BookingNotLinked
) -> HttpResponse:
    refused_look_log(
        origin=ClientOrigin.from_request(request),
        organisation=organisation,
        customer=request.portal_customer,
        what=refusal.what,
    )
    context = {"email": refusal.email, "reference": reference}
    return render(request, "bookings/booking_not_linked.html", context, status=403)


def _attendee_view(view, *, page_on_get: bool):
    @wraps(view)
    def wrapper(request, organisation, customer, reference, **kwargs):
        try:
            booking = get_booking_for(customer, reference)
        except BookingNotLinked as refusal:
            return _not_linked(request, organisation, reference, refusal)
        return view(request, organisation, customer, booking, **kwargs)

    guarded = customer_required(wrapper)
    # A form's POST address: a GET (a bookmark, the way back from signing in) goes to the booking's page.
    return never_cache(guarded if page_on_get else post_only("bookings:detail")(guarded))


def attendee_action(view):
    """A POST on a booking by one of its attendees: the view gets the booking. A GET goes back to its page."""
    return _attendee_view(view, page_on_get=False)


def attendee_page(view):
    """A check-and-confirm page of a booking for one of its attendees: a GET shows it, its form posts back."""
    return _attendee_view(require_http_methods(["GET", "HEAD", "POST"])(view), page_on_get=True)


@attendee_page
def add_on_book(request, organisation, customer, booking, add_on_id):
    add_on = get_add_on_for(booking, add_on_id)
    form = AddOnBookingForm(request.POST if request.method == "POST" else None, booking=booking, add_on=add_on)
    if not form.is_valid():
        payment_text = BookingSettings.for_organisation(organisation).payment_text
        # Confirmed after the session ended, it was not booked: after signing in this page says so.
        draft = draft_take(request, customer=customer, action=request.path)
        context = {"booking": booking, "add_on": add_on, "form": form, "payment_text": payment_text, "draft": draft}
        return render(request, "bookings/add_on_book.html", context, status=400 if form.errors else 200)
    line, created = booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
    if created:
        messages.success(request, f"{line.add_on.name} is booked. We've emailed you a confirmation.")
    else:
        messages.success(request, f"{line.add_on.name} was already booked on this booking.")
    return redirect(_booking_path(organisation, booking.reference))


@attendee_page
def add_on_cancel(request, organisation, customer, booking, add_on_id):
    line = get_booked_add_on_for(booking, add_on_id)
    deadline = booking_add_on_cancellation_deadline(booking=booking)
    data = request.POST if request.method == "POST" else None
    form = AddOnCancellationForm(data, line=line, customer=customer, deadline=deadline)
    if form.is_valid():
        try:
            line, cancelled = booking_add_on_cancel(line=line, customer=customer)
        except ValidationError as refusal:  # the window closed, or another request cancelled it, meanwhile
            form.add_error(None, refusal)
        else:
            done = "is cancelled. We've emailed you a confirmation." if cancelled else "was already cancelled."
            messages.success(request, f"{line.add_on.name} {done}")
            return redirect(_booking_path(organisation, booking.reference))
    status = 403 if form.has_error(NON_FIELD_ERRORS, "not_booker") else 400 if form.errors else 200
    context = {"booking": booking, "line": line, "form": form, "deadline": deadline}
    return render(request, "bookings/add_on_cancel.html", context, status=status)


@attendee_action
def document_upload(request, organisation, customer, booking):
    form = BookingDocumentForm(request.POST, request.FILES, request=request, customer=customer)
    if not form.is_valid() or form.kind is None:
        return _booking_page(request, booking, customer, document_form=form, status=400)
    document = booking_document_upload(
        booking=booking, customer=customer, file=form.cleaned_data["file"], kind=form.kind
    )
    messages.success(request, f"“{document.original_name}” is uploaded.")
    return redirect(_booking_path(organisation, booking.reference))


@never_cache
@customer_required
def document_download(request, organisation, customer, reference, pk):
    document = get_document_for(customer, reference, pk)
    return stored_file_download(document.file, filename=document.original_name, content_type=document.content_type)
