import datetime
import secrets
from functools import wraps
from typing import NamedTuple, cast

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Page
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from bookings.availability import (
    Slot,
    bookable_days,
    nearest_of,
    plausible_day,
    service_slots,
    week_around,
    with_room_for,
)
from bookings.forms import (
    AddOnBookingForm,
    AddOnCancellationForm,
    BookingDocumentForm,
    ServiceBookingForm,
    ServiceConfirmationForm,
    answers_shown,
    answers_signed,
)
from bookings.models import Booking, BookingSettings
from bookings.page_scopes import bookable_scope
from bookings.selectors import (
    BookingNotLinked,
    ListedBooking,
    add_ons_for,
    bookable_services,
    documents_for,
    get_add_on_for,
    get_answered_service,
    get_bookable_service,
    get_booked_add_on_for,
    get_booking_by_link,
    get_booking_for,
    get_document_for,
    organisation_offers_services,
    past_bookings_for,
    upcoming_bookings_for,
)
from bookings.services import (
    SlotUnavailable,
    booking_add_on_book,
    booking_add_on_cancel,
    booking_add_on_cancellation_deadline,
    booking_document_upload,
    service_book,
    service_booking_cancel,
    service_booking_change_refusal,
    service_booking_reschedule,
)
from portal_auth.access_log import refused_look_log
from portal_auth.decorators import customer_required, organisation_page, post_only, sign_in_url
from portal_auth.drafts import draft_restore, draft_take
from portal_auth.models import Organisation
from portal_auth.page_cache import cached_page
from portal_auth.types import PortalRequest
from portal_core import page_cache, ratelimit
from portal_core.origin import ClientOrigin
from portal_core.pagination import CountedPaginator
from portal_core.sent_once import CreatedAlready
from portal_core.uploads import stored_file_download

UPCOMING_BOOKINGS_PER_PAGE = 20
PAST_BOOKINGS_PER_PAGE = 20


# Free times move out of the bookable window as time passes, and a booking's cancellation and change deadlines pass:
# a kept page of them is rendered again this often.
FREE_TIMES_FRESH_FOR = 300


def _deadlines(organisation_id: int) -> list[str]:
    return [f"clock:{int(timezone.now().timestamp()) // FREE_TIMES_FRESH_FOR}"]


def _bookable(organisation_id: int) -> list[str]:
    return [*bookable_scope(organisation_id), *_deadlines(organisation_id)]


def _booking_path(request: PortalRequest, reference: str) -> str:
    return reverse("bookings:detail", kwargs={"org": request.portal.slug, "reference": reference})


@never_cache
@cached_page
@customer_required
def booking_list(request, organisation, customer):
    # A BookingList is no sequence, but it has all a CountedPaginator reads: count(), counted() and slices. Each list
    # has its pages of its own (?upcoming=, and ?page= for the past, as it always had).
    upcoming: Page[ListedBooking] = CountedPaginator(
        upcoming_bookings_for(customer), UPCOMING_BOOKINGS_PER_PAGE
    ).get_page(request.GET.get("upcoming"))
    past: Page[ListedBooking] = CountedPaginator(past_bookings_for(customer), PAST_BOOKINGS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "bookings/booking_list.html",
        {
            "upcoming": upcoming,
            "past": past,
            "can_book": organisation_offers_services(organisation),
        },
    )


@never_cache
@cached_page(also=_deadlines)
@organisation_page
def booking_detail(request: PortalRequest, organisation: Organisation, reference: str) -> HttpResponse:
    """The booking link. Whether it needs a sign-in is the organisation's choice."""
    customer = request.portal_customer
    if customer is None and organisation.requires_sign_in:
        # Before any look-up: the sign-in page must not tell whether the booking exists.
        return redirect(sign_in_url(request.portal, request.get_full_path()))
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


def _form_path(request: PortalRequest, booking: Booking, route: str) -> str:
    return reverse(route, kwargs={"org": request.portal.slug, "reference": booking.reference})


def _booking_page(request, booking: Booking, customer, *, document_form=None, status=200):
    """The booking page; `customer` is None when the visitor may only read it."""
    booked_add_ons, offered_add_ons = add_ons_for(booking)
    if customer and document_form is None:
        form = BookingDocumentForm(request=request, customer=customer)
        document_form = draft_restore(request, form, action=_form_path(request, booking, "bookings:document_upload"))
    context = {
        "booking": booking,
        "customer": customer,
        "booked_add_ons": booked_add_ons,
        "offered_add_ons": offered_add_ons,
        "documents": documents_for(customer, booking) if customer else [],
        "document_form": document_form,
        "sign_in_url": sign_in_url(request.portal, request.path),
        "change_refusal": service_booking_change_refusal(booking, customer, now=timezone.now()) if customer else "",
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


def attendee_read(view):
    """A page of a booking for one of its attendees that changes nothing."""
    return _attendee_view(require_safe(view), page_on_get=True)


@attendee_page
def add_on_book(request, organisation, customer, booking, add_on_id):
    add_on = get_add_on_for(booking, add_on_id)
    form = AddOnBookingForm(request.POST if request.method == "POST" else None, booking=booking, add_on=add_on)
    if form.is_valid():
        try:
            line, created = booking_add_on_book(booking=booking, add_on=add_on, customer=customer)
        except ValidationError as refusal:  # the booking was cancelled, or has ended, since this request read it
            form.add_error(None, refusal)
            booking.refresh_from_db(fields=["status"])
        else:
            done = "is booked. We've emailed you a confirmation." if created else "was already booked on this booking."
            messages.success(request, f"{line.add_on.name} {done}")
            return redirect(_booking_path(request, booking.reference))
    payment_text = BookingSettings.for_organisation(organisation).payment_text
    # Confirmed after the session ended, it was not booked: after signing in this page says so.
    draft = draft_take(request, customer=customer, action=request.path)
    context = {"booking": booking, "add_on": add_on, "form": form, "payment_text": payment_text, "draft": draft}
    return render(request, "bookings/add_on_book.html", context, status=400 if form.errors else 200)


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
            return redirect(_booking_path(request, booking.reference))
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
    return redirect(_booking_path(request, booking.reference))


@never_cache
@customer_required
def document_download(request, organisation, customer, reference, pk):
    document = get_document_for(customer, reference, pk)
    return stored_file_download(document.file, filename=document.original_name, content_type=document.content_type)


# ---------------------------------------------------------------------------------------------
# Customers book services: one choice a page (service, day, time, answers), then check and confirm

ANSWERS_SESSION_KEY = "bookings_answers"
DAYS_SHOWN = 28


class DaysWithRoom(NamedTuple):
    days: list  # (day, its free slots), for the days that have any
    earlier: datetime.date | None  # the first day of the page before, if there is one
    later: datetime.date | None  # the first day of the page after, if there is one


def _days_with_room(service, start: datetime.date, *, moving: Booking | None = None) -> DaysWithRoom:
    """The days with free slots of the page of DAYS_SHOWN days from `start`, and the pages on either side. For
    `moving` a booking, those with room for its places, other than its own time."""
    first, last = bookable_days(service, now=timezone.now())
    start = max(start, first)
    days = [start + datetime.timedelta(days=n) for n in range(DAYS_SHOWN) if start + datetime.timedelta(days=n) <= last]
    slots = service_slots(service, days, now=timezone.now(), ignoring=moving.pk if moving else None)
    if moving is not None:
        slots = {day: _times_to_move_to(moving, day_slots) for day, day_slots in slots.items()}
    earlier = max(first, start - datetime.timedelta(days=DAYS_SHOWN)) if start > first else None
    later = start + datetime.timedelta(days=DAYS_SHOWN)
    with_room = [(day, day_slots) for day, day_slots in slots.items() if day_slots]
    return DaysWithRoom(with_room, earlier, later if later <= last else None)


def _times_to_move_to(booking: Booking, slots: list[Slot]) -> list[Slot]:
    """Of a day's free slots (read leaving `booking` out), those it can move to: with room for its places, not its
    own time."""
    return [
        slot
        for slot in slots
        if slot.places_left >= booking.places and slot.starts_at.astimezone(datetime.UTC) != booking.slot_starts_at
    ]


def _day_from(request, organisation) -> datetime.date:
    try:
        return plausible_day(request.GET.get("from", ""))
    except ValueError:
        return timezone.now().astimezone(organisation.zone).date()


@never_cache
@cached_page(also=_bookable)
@customer_required
def book_services(request, organisation, customer):
    return render(request, "bookings/book/services.html", {"services": bookable_services(organisation)})


@never_cache
@cached_page(also=_bookable)
@customer_required
def book_days(request, organisation, customer, service_id):
    service = get_bookable_service(organisation, service_id)
    context = {"service": service, **_days_with_room(service, _day_from(request, organisation))._asdict()}
    return render(request, "bookings/book/days.html", context)


@never_cache
@cached_page(also=_bookable)
@customer_required
def book_times(request, organisation, customer, service_id, day):
    service = get_bookable_service(organisation, service_id)
    slots = service_slots(service, [day], now=timezone.now())[day]
    return render(request, "bookings/book/times.html", {"service": service, "day": day, "slots": slots})


class SlotAsked(NamedTuple):
    slot: Slot | None  # the free slot at that time with room for the places asked, if it has
    starts_at: datetime.datetime
    nearest: list[Slot]  # the free slots with room for them nearest to it
    places_left: int  # where the slot is free with fewer places than asked, those it has; else 0


def _slot_start(service, day: datetime.date, time: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=service.organisation.zone)


def _slot_at(service, day: datetime.date, time: datetime.time, *, places: int = 1, ignoring: int | None = None):
    """The slot at that time, from the slots of the week around it, read at once."""
    starts_at = _slot_start(service, day, time)
    week = service_slots(service, week_around(day), now=timezone.now(), ignoring=ignoring)
    free = next((slot for slot in week[day] if slot.starts_at == starts_at), None)
    roomy = free if free is not None and free.places_left >= places else None
    short = free.places_left if free is not None and roomy is None else 0
    return SlotAsked(roomy, starts_at, nearest_of(with_room_for(places, week), starts_at), short)


@never_cache
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def book_details(request, organisation, customer, service_id, day, time):
    """The customer's answers for the slot: kept in their session until they confirm on the check page."""
    service = get_bookable_service(organisation, service_id)
    slot, starts_at, nearest, _ = _slot_at(service, day, time)
    if slot is None:
        return _slot_gone(request, service, starts_at, nearest=nearest, status=_refused(request, 409))
    answers = request.session.get(ANSWERS_SESSION_KEY, {})
    same_slot = answers.get("service") == service.pk and answers.get("starts_at") == starts_at.isoformat()
    form = ServiceBookingForm(
        request.POST if request.method == "POST" else None,
        initial={**answers} if same_slot else None,
        places_left=slot.places_left,
    )
    if request.method != "POST":
        draft_restore(request, form)  # what was typed after the session ended, over the answers given before
    if request.method == "POST" and form.is_valid():
        request.session[ANSWERS_SESSION_KEY] = {
            "service": service.pk,
            "starts_at": starts_at.isoformat(),
            # Which confirmation this is: pressing it twice books once.
            "token": secrets.token_urlsafe(16),
            **form.cleaned_data,
        }
        return redirect("bookings:book_check", org=request.portal.slug)
    context = {"service": service, "slot": slot, "day": day, "form": form}
    return render(request, "bookings/book/details.html", context, status=400 if form.errors else 200)


def _refused(request, status: int) -> int:
    """The status of a page saying no: shown on a GET it is a page like any other; a POST it refused is an error."""
    return status if request.method == "POST" else 200


def _slot_gone(request, service, starts_at, *, nearest, status=200, reference="", places_left=0, places=1):
    """The page saying the time asked is taken, or has fewer places left than asked (`places_left`)."""
    context = {
        "service": service,
        "starts_at": starts_at,
        "nearest": nearest,
        "reference": reference,
        "places_left": places_left,
        "places": places,
    }
    return render(request, "bookings/book/slot_gone.html", context, status=status)


@never_cache
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def book_check(request, organisation, customer):
    """Check your answers, then confirm: only the POST books, for what the page showed."""
    # Confirmed after the session ended, nothing was booked: after signing in, the answers it carried are back here.
    draft = draft_take(request, customer=customer, action=request.path) if request.method != "POST" else None
    kept = answers_shown(draft.fields.get("answers"), customer) if draft is not None else None
    if kept is not None and (refusal := _answers_restored(request, organisation, kept)):
        return refusal
    answers = request.session.get(ANSWERS_SESSION_KEY)
    if not answers:
        return redirect("bookings:book", org=request.portal.slug)
    service = get_answered_service(organisation, answers["service"])
    if service is None or not service.is_active:  # turned off or deleted since they answered
        return _not_offered(request, service)
    starts_at = datetime.datetime.fromisoformat(answers["starts_at"]).astimezone(organisation.zone)
    data = request.POST if request.method == "POST" else None
    form = ServiceConfirmationForm(data, customer=customer, answers=answers, service=service)
    if data is not None:
        _count_booking(request, customer)
    if form.is_valid():
        try:
            booking = service_book(
                service=service,
                customer=customer,
                starts_at=starts_at,
                places=answers["places"],
                note=answers["note"],
                request_token=answers.get("token", ""),
            )
        except CreatedAlready as already:  # Confirm pressed again: the browser shows this answer only: booked
            booking = cast(Booking, already.created)
        except SlotUnavailable as refusal:
            return _slot_gone(
                request,
                service,
                starts_at,
                status=409,
                nearest=refusal.nearest,
                places_left=refusal.places_left,
                places=answers["places"],
            )
        del request.session[ANSWERS_SESSION_KEY]
        booked = "requested" if booking.status == Booking.Status.PROVISIONAL else "booked"
        messages.success(
            request,
            f"You're {booked}: {booking.title}. Your reference is {booking.reference}. "
            "We've emailed you the details with a calendar file.",
        )
        return redirect(_booking_path(request, booking.reference))
    # In elapsed time, as the booking and its deadline are kept: across a clock change, wall-clock sums drift an hour.
    instant = starts_at.astimezone(datetime.UTC)
    ends_at = (instant + service.duration).astimezone(organisation.zone)
    cancel_until = (instant - service.free_cancellation_notice).astimezone(organisation.zone)
    context = {
        "service": service,
        "answers": answers,
        "form": form,
        "restored": kept is not None,
        "answers_signed": answers_signed(answers, customer),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "cancel_until": cancel_until,
        "cancel_deadline_passed": cancel_until <= timezone.now(),
    }
    # Refused, the page shows what the answers and the price are now; nothing was booked.
    return render(request, "bookings/book/check.html", context, status=409 if form.errors else 200)


def _not_offered(request, service) -> HttpResponse:
    request.session.pop(ANSWERS_SESSION_KEY, None)
    return render(request, "bookings/book/not_offered.html", {"service": service}, status=_refused(request, 409))


def _answers_restored(request, organisation, kept: dict) -> HttpResponse | None:
    """Put answers a check page showed back in the session, once checked again as the details page checks them; or
    the page saying why they can't be booked now."""
    service = get_answered_service(organisation, kept["service"])
    if service is None or not service.is_active:
        return _not_offered(request, service)
    asked = datetime.datetime.fromisoformat(kept["starts_at"]).astimezone(organisation.zone)
    asked_slot = _slot_at(service, asked.date(), asked.time(), places=kept["places"])
    if asked_slot.slot is None:
        return _slot_gone(
            request,
            service,
            asked_slot.starts_at,
            nearest=asked_slot.nearest,
            places_left=asked_slot.places_left,
            places=kept["places"],
        )
    request.session[ANSWERS_SESSION_KEY] = kept
    return None


def _service_of(organisation, booking):
    """The booking's service, read with it: only once _move_refusal has found it there and still offered."""
    service = booking.service
    assert service is not None and service.is_active
    service.organisation = organisation  # known already: spare the page a query
    return service


def _count_booking(request, customer) -> None:
    """RateLimited (a 429 page) once the customer has booked, moved or cancelled too often."""
    ratelimit.consume("service_booking", request, key=f"customer:{customer.pk}")


def _change_refusal(booking, customer) -> str:
    return service_booking_change_refusal(booking, customer, now=timezone.now())


def _move_refusal(booking, customer) -> str:
    """Why the booking can't be moved online: as for a cancellation, or its service is no longer offered (it can
    still be cancelled)."""
    if refusal := _change_refusal(booking, customer):
        return refusal
    if booking.service is not None and not booking.service.is_active:
        return "This service is no longer offered, so its time can't be changed online."
    return ""


def _moving_refused(request, booking, refusal: str) -> HttpResponse:
    context = {"booking": booking, "refusal": refusal, "moving": True}
    return render(request, "bookings/book/cancel.html", context, status=_refused(request, 403))


def _cancelled_by(booking: Booking, customer, *, read_again: bool = False) -> bool:
    """Whether the booking is cancelled and the customer is who booked it (so may have cancelled it)."""
    if read_again:
        booking.refresh_from_db(fields=["status"])
    return booking.status == Booking.Status.CANCELLED and booking.booked_by_customer_id == customer.pk


@attendee_page
def booking_cancel(request, organisation, customer, booking):
    if request.method == "POST" and _cancelled_by(booking, customer):  # pressed again, or sent again from Back
        messages.success(request, f"{booking.title} is cancelled.")
        return redirect(_booking_path(request, booking.reference))
    refusal = _change_refusal(booking, customer)
    if request.method == "POST" and not refusal:
        _count_booking(request, customer)
        try:
            service_booking_cancel(booking=booking, customer=customer)
        except ValidationError as error:  # the window closed meanwhile, or another tab cancelled it
            if _cancelled_by(booking, customer, read_again=True):
                messages.success(request, f"{booking.title} is cancelled.")
                return redirect(_booking_path(request, booking.reference))
            refusal = error.messages[0]
        else:
            messages.success(request, f"{booking.title} is cancelled. We've emailed you a confirmation.")
            return redirect(_booking_path(request, booking.reference))
    context = {"booking": booking, "refusal": refusal}
    return render(request, "bookings/book/cancel.html", context, status=_refused(request, 403) if refusal else 200)


@attendee_read
def booking_reschedule_days(request, organisation, customer, booking):
    if refusal := _move_refusal(booking, customer):
        return _moving_refused(request, booking, refusal)
    service = _service_of(organisation, booking)
    days_with_room = _days_with_room(service, _day_from(request, organisation), moving=booking)
    context = {"service": service, "booking": booking, **days_with_room._asdict()}
    return render(request, "bookings/book/days.html", context)


@attendee_read
def booking_reschedule_times(request, organisation, customer, booking, day):
    if refusal := _move_refusal(booking, customer):
        return _moving_refused(request, booking, refusal)
    service = _service_of(organisation, booking)
    slots = _times_to_move_to(booking, service_slots(service, [day], now=timezone.now(), ignoring=booking.pk)[day])
    context = {"service": service, "day": day, "slots": slots, "booking": booking}
    return render(request, "bookings/book/times.html", context)


@attendee_page
def booking_reschedule(request, organisation, customer, booking, day, time):
    """Check and confirm the move: the old time, the new one; only the POST moves it."""
    if refusal := _move_refusal(booking, customer):
        return _moving_refused(request, booking, refusal)
    service = _service_of(organisation, booking)
    if _slot_start(service, day, time).astimezone(datetime.UTC) == booking.slot_starts_at:  # a bookmark, an old tab
        messages.info(request, f"{booking.title} is already at this time.")
        return redirect(_booking_path(request, booking.reference))
    slot, starts_at, nearest, places_left = _slot_at(service, day, time, places=booking.places, ignoring=booking.pk)
    if slot is None:
        return _slot_gone(
            request,
            service,
            starts_at,
            nearest=nearest,
            reference=booking.reference,
            status=_refused(request, 409),
            places_left=places_left,
            places=booking.places,
        )
    if request.method == "POST":
        _count_booking(request, customer)
        try:
            service_booking_reschedule(booking=booking, customer=customer, starts_at=starts_at)
        except SlotUnavailable as refusal_:
            return _slot_gone(
                request,
                service,
                starts_at,
                status=409,
                nearest=refusal_.nearest,
                reference=booking.reference,
                places_left=refusal_.places_left,
                places=booking.places,
            )
        except ValidationError as error:
            return _moving_refused(request, booking, error.messages[0])
        messages.success(request, f"{booking.title} has moved. We've emailed you the new time with a calendar file.")
        return redirect(_booking_path(request, booking.reference))
    return render(request, "bookings/book/reschedule.html", {"booking": booking, "service": service, "slot": slot})
