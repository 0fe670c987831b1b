import datetime

import pytest

from billing.dates import months_added, period_end_after

D = datetime.date


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (D(2027, 1, 31), 1, D(2027, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2027, 1, 31), 2, D(2027, 3, 31)),  # back to the anchor's day
        (D(2027, 8, 31), 1, D(2027, 9, 30)),
        (D(2027, 12, 15), 1, D(2028, 1, 15)),  # across the year
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2028, 2, 29), 48, D(2032, 2, 29)),
    ],
)
def test_months_keep_the_anchor_day_where_the_month_has_it(anchor, months, expected):
    assert months_added(anchor, months) == expected


@pytest.mark.parametrize(
    ("started", "period", "after", "expected"),
    [
        (D(2027, 1, 31), "month", D(2027, 1, 31), D(2027, 2, 28)),
        (D(2027, 1, 31), "month", D(2027, 2, 28), D(2027, 3, 31)),
        (D(2027, 1, 31), "month", D(2027, 5, 10), D(2027, 5, 31)),  # months missed are skipped at once
        (D(2028, 2, 29), "year", D(2028, 2, 29), D(2029, 2, 28)),
        (D(2028, 2, 29), "year", D(2031, 3, 1), D(2032, 2, 29)),
        (D(2026, 3, 1), "month", D(2027, 2, 1), D(2027, 3, 1)),
    ],
)
def test_the_next_period_end_counts_from_the_start(started, period, after, expected):
    assert period_end_after(started_on=started, period=period, after=after) == expected
