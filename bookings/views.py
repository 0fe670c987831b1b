from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from bookings.forms import AddOnBookingForm, BookingDocumentForm
from bookings.models import Booking
from bookings.selectors import (
    BookingNotLinked,
    add_ons_for,
    documents_for,
    get_booking_by_link,
    get_booking_for,
    get_document_for,
    past_bookings_for,
    upcoming_bookings_for,
)
from bookings.services import booking_add_on_book, booking_document_upload
from portal_auth.access_log import refused_look_log
from portal_auth.decorators import customer_required, organisation_page, post_only, sign_in_url
from portal_auth.drafts import draft_restore, draft_take
from portal_auth.uploads import stored_file_download

PAST_BOOKINGS_PER_PAGE = 20


def _booking_path(organisation, reference: str) -> str:
    return reverse("bookings:detail", kwargs={"org": organisation.slug, "reference": reference})


@never_cache
@customer_required
def booking_list(request, organisation, customer):
    past = Paginator(past_bookings_for(customer), PAST_BOOKINGS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bookings/booking_list.html",
        {"upcoming": upcoming_bookings_for(customer), "past": past},
    )


@never_cache
@organisation_page
def booking_detail(request, organisation, reference):
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
        # The link alone opens the booking here, but only an attendee may change it.
        booking, customer = get_booking_by_link(organisation, reference), None
    return _booking_page(request, booking, customer)


def _form_path(booking: Booking, route: str) -> str:
    return reverse(route, kwargs={"org": booking.organisation.slug, "reference": booking.reference})


def _booking_page(request, booking: Booking, customer, *, add_on_form=None, document_form=None, status=200):
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
        "add_on_form": add_on_form,
        # An add-on booked after the session ended was not booked: the page says so once signed in.
        "add_on_draft": draft_take(request, customer=customer, action=_form_path(booking, "bookings:add_on_book"))
        if customer
        else None,
        "documents": documents_for(customer, booking) if customer else [],
        "document_form": document_form,
        "sign_in_url": sign_in_url(booking.organisation, request.path),
    }
    return render(request, "bookings/booking_detail.html", context, status=status)


def _not_linked(request, organisation, reference: str, refusal: BookingNotLinked):
    refused_look_log(request, organisation=organisation, customer=request.portal_customer, what=refusal.what)
    context = {"email": refusal.email, "reference": reference}
    return render(request, "bookings/booking_not_linked.html", context, status=403)


def attendee_action(view):
    """A POST on a booking by one of its attendees: the view gets the booking. A GET goes back to its page."""

    @wraps(view)
    def wrapper(request, organisation, customer, reference):
        try:
            booking = get_booking_for(customer, reference)
        except BookingNotLinked as refusal:
            return _not_linked(request, organisation, reference, refusal)
        return view(request, organisation, customer, booking)

    return never_cache(post_only("bookings:detail")(customer_required(wrapper)))


@attendee_action
def add_on_book(request, organisation, customer, booking):
    form = AddOnBookingForm(request.POST, booking=booking)
    if not form.is_valid():
        return _booking_page(request, booking, customer, add_on_form=form, status=400)
    line, created = booking_add_on_book(booking=booking, add_on=form.cleaned_data["add_on"], customer=customer)
    if created:
        messages.success(request, f"{line.add_on.name} is booked. We've emailed you a confirmation.")
    else:
        messages.success(request, f"{line.add_on.name} was already booked on this booking.")
    return redirect(_booking_path(organisation, booking.reference))


@attendee_action
def document_upload(request, organisation, customer, booking):
    form = BookingDocumentForm(request.POST, request.FILES, request=request, customer=customer)
    if not form.is_valid():
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
