"""Finding an emailed or issued token by its hash, the way every door that takes one does."""

from collections.abc import Iterable

from portal_auth.models import CustomerToken, Organisation
from portal_core import ratelimit
from portal_core.origin import ClientOrigin


def token_by_hash(
    *, guess_action: str, origin: ClientOrigin, organisation: Organisation, purposes: Iterable[str], token_hash: str
) -> CustomerToken | None:
    """The organisation's token of one of `purposes` with this hash, with its customer, whatever its state.

    Looked up by its hash alone: no comparison of the secret ever runs in Python. Counts against
    `guess_action` only a hash that matches nothing (a used or expired link clicked again is no guess);
    raises RateLimited when this address has guessed too often.
    """
    attempt = ratelimit.reserve(guess_action, origin)
    token = None
    if token_hash:
        token = (
            CustomerToken.objects.select_related("customer__organisation")
            .filter(organisation=organisation, purpose__in=list(purposes), token_hash=token_hash)
            .first()
        )
    if token is not None:
        attempt.release()
    return token
