from datetime import timedelta

from outbox.checks import sending_claims_outlast_a_run


def test_a_stale_age_shorter_than_a_run_is_flagged(settings):
    settings.OUTBOX_SEND_TIME_BUDGET = 50
    settings.OUTBOX_SENDING_STALE_AFTER = timedelta(minutes=15)
    assert sending_claims_outlast_a_run(None) == []

    settings.OUTBOX_SENDING_STALE_AFTER = timedelta(seconds=90)
    [warning] = sending_claims_outlast_a_run(None)
    assert warning.id == "outbox.W001"
    assert "OUTBOX_SENDING_STALE_AFTER (90 s)" in warning.msg
