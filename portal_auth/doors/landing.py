"""What the doors share: where a customer goes after signing in, and the landing of an emailed link.

An emailed link's GET only files its token's hash in the session and redirects to a URL without the
token, whose page names the account and whose button (a CSRF-protected POST) uses it: a mail scanner
that follows every link uses nothing up, and the token never sits in the address bar, the history or a
Referer header (as Django's PasswordResetConfirmView does).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from portal_auth.doors.registry import door_is_open
from portal_auth.models import Portal, session_hash
from portal_auth.types import PortalRequest


def safe_next(request: PortalRequest) -> str:
    """Where to go after signing in: `next` if it is a path inside this portal."""
    home = reverse("portal_home", kwargs={"org": request.portal.slug})
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith(f"/{request.portal.slug}/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return home


def emailed_link_landing(*, door_key: str, session_key: str, clean_route: Callable[..., str]) -> Callable:
    """The view of an emailed link `<org>/…/<token>`: its token's hash goes into the session under
    `session_key`, the browser to the page whose button uses it: `clean_route(**kwargs)` names its URL, given
    the URL's extra kwargs (an AccessLinkDoor's `door`).

    Every outcome is a redirect to a URL without the token (an unknown organisation's goes to the front
    page), so no error response ever logs the token's URL. Behind a closed door nothing is filed, and the
    page it leads to answers 404 itself.
    """

    # Exempt: it only files the token in the session, as a GET does, and a CSRF refusal would log its URL.
    @csrf_exempt
    @never_cache
    def landing(request: HttpRequest, org: str, token: str, **door_kwargs) -> HttpResponse:
        portal = Portal.objects.select_related("organisation").filter(slug=org).first()
        if portal is None:
            response = redirect("landing")
        else:
            if door_is_open(portal.organisation, door_key):
                request.session[session_key] = session_hash(token)
            response = redirect(clean_route(**door_kwargs), org=portal.slug)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return landing


def landed_token_hash(request: HttpRequest, session_key: str) -> str:
    """The hash an emailed link filed, for the page its button is on; "" when there is none."""
    return request.session.get(session_key, "")


def landed_token_proof(token_hash: str) -> str:
    """What the landing page's form carries of the link it names.

    Another link may land in the same session between the page and its button (another tab, or a site
    sending this browser through a link of its own): the button must use the link whose account the page
    named, never whichever one the session holds by then.
    """
    return salted_hmac("portal_auth.doors.landing", token_hash, algorithm="sha256").hexdigest()


def landed_token_confirmed(request: HttpRequest, token_hash: str) -> bool:
    """Whether this POST comes from the page that named the link whose hash the session holds now."""
    return constant_time_compare(request.POST.get("link", ""), landed_token_proof(token_hash))


def landed_token_drop(request: HttpRequest, session_key: str) -> None:
    """Used or dead: a token has no reason to stay in the session once its page is done with it."""
    request.session.pop(session_key, None)
