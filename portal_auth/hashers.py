"""How customers' (and staff users') passwords are hashed."""

from django.contrib.auth.hashers import Argon2PasswordHasher


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
