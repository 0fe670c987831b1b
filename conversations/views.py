from django.contrib import messages
from django.core.paginator import Page
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from conversations.forms import ReplyForm
from conversations.models import Conversation
from conversations.selectors import (
    ListedConversation,
    conversation_rows_for,
    customers_may_reopen,
    displayed_attributes,
    get_attachment_for,
    get_attachment_for_staff,
    get_conversation_for,
    public_messages,
)
from conversations.services import ReopenRefused, conversation_reply
from portal_auth.access_log import refused_look_log
from portal_auth.decorators import customer_required, organisation_page, sign_in_url
from portal_auth.drafts import draft_restore
from portal_auth.models import Organisation
from portal_auth.page_cache import cached_page
from portal_auth.types import PortalRequest
from portal_core.origin import ClientOrigin
from portal_core.pagination import CountedPaginator
from portal_core.uploads import stored_file_download

CONVERSATIONS_PER_PAGE = 20


@never_cache
@cached_page
@customer_required
def conversation_list(request, organisation, customer):
    # A ConversationList is no sequence, but it has all a CountedPaginator reads: count(), counted() and slices.
    rows = conversation_rows_for(customer)
    page: Page[ListedConversation] = CountedPaginator(rows, CONVERSATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "conversations/conversation_list.html", {"page": page})


@never_cache
@cached_page
@customer_required
def conversation_detail(request, organisation, customer, pk):
    """The conversation, with a form to reply (or to reopen it, where the organisation allows)."""
    conversation = get_conversation_for(customer, pk)
    may_write = conversation.is_open or customers_may_reopen(conversation)
    if request.method != "POST":
        form = draft_restore(request, ReplyForm(request=request, customer=customer)) if may_write else None
        return _detail_page(request, conversation, form)
    if not may_write:
        return _reopen_refused(request, conversation)
    form = ReplyForm(request.POST, request.FILES, request=request, customer=customer)
    if not form.is_valid():
        return _detail_page(request, conversation, form, status=400)
    was_open = conversation.is_open
    try:
        conversation_reply(
            conversation=conversation,
            customer=customer,
            body=form.cleaned_data["body"],
            uploads=form.cleaned_data["attachments"],
            request_token=form.once_token,
        )
    except ReopenRefused:  # closed, and reopening turned off, since the page was loaded
        return _reopen_refused(request, conversation)
    messages.success(request, "Message sent." if was_open else "Message sent. The conversation is open again.")
    return redirect("conversations:detail", org=request.portal.slug, pk=conversation.pk)


def _reopen_refused(request: PortalRequest, conversation: Conversation) -> HttpResponse:
    """A message for a closed conversation that may not be reopened: refused, and what was typed shown back to copy.

    A page that offered the form while the conversation was open says so (`seen_open`): staff closed it while the
    customer wrote. Without it, the page offered no form, so the post was made up: worth a line in the access log.
    """
    if request.POST.get("seen_open") != "1":
        refused_look_log(
            origin=ClientOrigin.from_request(request),
            organisation=conversation.organisation,
            customer=request.portal_customer,
            what=f"conversation {conversation.pk} reopening (turned off)",
        )
    return _detail_page(request, conversation, None, status=403, refused=True, unsent=request.POST.get("body", ""))


def _detail_page(request, conversation, form, *, status=200, refused=False, unsent=""):
    context = {
        "conversation": conversation,
        "attributes": displayed_attributes(conversation),
        "timeline": public_messages(conversation),
        "form": form,
        "refused": refused,
        "unsent": unsent,
    }
    return render(request, "conversations/conversation_detail.html", context, status=status)


@never_cache
@organisation_page
def attachment_download(request: PortalRequest, organisation: Organisation, pk: int) -> HttpResponseBase:
    """Served to the conversation's customer and to staff only, always as a download."""
    if request.portal_customer is not None:
        attachment = get_attachment_for(request.portal_customer, pk)
    elif request.user.is_staff and request.user.has_perm("conversations.view_attachment"):
        attachment = get_attachment_for_staff(organisation, pk)
    else:
        return redirect(sign_in_url(request.portal, request.get_full_path()))
    return stored_file_download(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )
