from django.db import models


class RateLimitCounter(models.Model):
    """One rate-limit window of one subject: how many attempts it has counted so far.

    Written only by portal_core.ratelimit, with one atomic upsert per hit. Never evicted before
    `expires_at`, the end of its window; `purge_expired` deletes it afterwards.
    """

    # action:scope:seconds:window:sha256(subject)[:32], so an email or address is never stored as such.
    key = models.CharField(max_length=200, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
