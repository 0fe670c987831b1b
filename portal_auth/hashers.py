"""How customers' (and staff users') passwords are hashed."""

import functools
import threading
from contextlib import AbstractContextManager, nullcontext

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


@functools.cache
def _hashing_slots(size: int) -> AbstractContextManager:
    return threading.BoundedSemaphore(size) if size > 0 else nullcontext()


def hashing_slot() -> AbstractContextManager:
    """One of this process's PASSWORD_HASHING_CONCURRENCY slots (0: unbounded), held while a hash is computed.

    argon2 releases the GIL and keeps a core busy for tens of milliseconds; without a bound, a sign-in storm
    puts every thread of every worker on the cores at once and the other pages wait behind it.
    """
    return _hashing_slots(settings.PASSWORD_HASHING_CONCURRENCY)


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's minimum parameters: 19 MiB of memory, two passes, one lane.

    Django's defaults (RFC 9106's second set: 100 MiB, eight lanes) allow about 6.5 checks a second on
    two cores; these allow over 30, so a burst of sign-ins doesn't starve every other page. The algorithm
    name stays `argon2`, so hashes made with Django's parameters are still verified here, and
    `must_update` (their parameters differ) has them rehashed with these on the next successful sign-in.
    """

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with hashing_slot():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with hashing_slot():
            return super().verify(password, encoded)
