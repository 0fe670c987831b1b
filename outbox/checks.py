from django.conf import settings
from django.core.checks import Warning, register


@register()
def sending_claims_outlast_a_run(app_configs, **kwargs) -> list[Warning]:
    """An email still being sent must not look interrupted, or a second sender would send it again."""
    budget = settings.OUTBOX_SEND_TIME_BUDGET
    stale_after = settings.OUTBOX_SENDING_STALE_AFTER.total_seconds()
    if stale_after >= 2 * budget + 60:
        return []
    return [
        Warning(
            f"OUTBOX_SENDING_STALE_AFTER ({stale_after:g} s) is too close to OUTBOX_SEND_TIME_BUDGET ({budget} s): "
            "emails still being sent would be sent again.",
            hint="Keep it above twice the time budget plus a minute (the default is 900 s).",
            id="outbox.W001",
        )
    ]
