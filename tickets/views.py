from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal_auth.decorators import customer_required, post_only
from portal_auth.drafts import draft_restore
from portal_auth.page_cache import cached_page
from portal_core.uploads import stored_file_download
from tickets.forms import NewTicketForm, ReplyForm, TicketFilterForm
from tickets.models import CUSTOMER_STATUS_WORDS, Ticket
from tickets.selectors import get_attachment_for, get_ticket_for, public_messages, tickets_for
from tickets.services import (
    REPLY_EMAILS,
    TicketClosed,
    ticket_create,
    ticket_mark_solved,
    ticket_path,
    ticket_reply,
)

TICKETS_PER_PAGE = 20

# Every page below shows a customer's own tickets: never_cache keeps them out of the browser's
# history cache, so the back button after signing out shows nothing of them.


@never_cache
@cached_page
@customer_required
def ticket_list(request, organisation, customer):
    filter_form = TicketFilterForm(request.GET)
    filters = filter_form.filters()
    # A TicketList is no sequence, but it has all a Paginator reads: count() and slices.
    tickets = tickets_for(customer, **filters)
    page: Page[Ticket] = Paginator(tickets, TICKETS_PER_PAGE).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    context = {"page": page, "filter_form": filter_form, "filtering": any(filters.values())}
    return render(request, "tickets/ticket_list.html", context)


def _detail(request, ticket, reply_form, status=200):
    context = {"ticket": ticket, "ticket_messages": public_messages(ticket), "reply_form": reply_form}
    return render(request, "tickets/ticket_detail.html", context, status=status)


@never_cache
@cached_page
@customer_required
def ticket_detail(request, organisation, customer, number):
    ticket = get_ticket_for(customer, number)
    action = reverse("tickets:reply", kwargs={"org": request.portal.slug, "number": number})
    return _detail(
        request, ticket, draft_restore(request, ReplyForm(request=request, customer=customer), action=action)
    )


@never_cache
@post_only("tickets:detail", form_id="reply-form")
@customer_required
def ticket_reply_post(request, organisation, customer, number):
    ticket = get_ticket_for(customer, number)
    form = ReplyForm(request.POST, request.FILES, request=request, customer=customer)
    if not form.is_valid():
        return _detail(request, ticket, form, status=400)
    try:
        ticket_reply(
            ticket=ticket,
            customer=customer,
            body=form.cleaned_data["body"],
            attachments=form.cleaned_data["attachments"],
            request_token=form.once_token,
        )
    except TicketClosed as error:
        form.add_error(None, error)
        return _detail(request, ticket, form, status=409)
    told = " We'll email you when we answer." if customer.wants_email(REPLY_EMAILS) else ""
    messages.success(request, f"Your reply has been added.{told}")
    return redirect(f"{ticket_path(ticket, request.portal)}#latest")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@customer_required
def ticket_solve(request, organisation, customer, number):
    """A GET asks the customer to confirm; the POST marks the ticket solved."""
    ticket = get_ticket_for(customer, number)
    context = {"ticket": ticket, "solved_words": CUSTOMER_STATUS_WORDS[Ticket.Status.SOLVED]}
    if request.method == "POST":
        try:
            if ticket_mark_solved(ticket=ticket, customer=customer):
                messages.success(request, "You marked this ticket solved. Reply to it if you need more help.")
            return redirect(f"{ticket_path(ticket, request.portal)}#latest")
        except TicketClosed as error:
            return render(request, "tickets/ticket_solve.html", {**context, "error": error.message}, status=409)
    return render(request, "tickets/ticket_solve.html", context)


@never_cache
@cached_page
@customer_required
def ticket_new(request, organisation, customer):
    if request.method == "POST":
        form = NewTicketForm(request.POST, request.FILES, request=request, customer=customer)
        if form.is_valid():
            fields = {name: value for name, value in form.cleaned_data.items() if name != "sent_once_token"}
            ticket = ticket_create(customer=customer, **fields, request_token=form.once_token)
            return redirect("tickets:created", org=request.portal.slug, number=ticket.number)
        context = {"form": form, "replies_by_email": customer.wants_email(REPLY_EMAILS)}
        return render(request, "tickets/ticket_new.html", context, status=400)
    restored = draft_restore(request, NewTicketForm(request=request, customer=customer))
    context = {"form": restored, "replies_by_email": customer.wants_email(REPLY_EMAILS)}
    return render(request, "tickets/ticket_new.html", context)


@never_cache
@customer_required
def ticket_created(request, organisation, customer, number):
    ticket = get_ticket_for(customer, number)
    context = {"ticket": ticket, "replies_by_email": customer.wants_email(REPLY_EMAILS)}
    return render(request, "tickets/ticket_created.html", context)


@customer_required
def attachment_download(request, organisation, customer, number, attachment_id):
    # No never_cache: the download's own headers already keep it out of every cache (private, no-store).
    attachment = get_attachment_for(customer, number, attachment_id)
    return stored_file_download(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )
