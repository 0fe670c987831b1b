"""Totals against worked examples: each line's net rounded half-up to the currency's minor unit, tax per rate."""

from decimal import Decimal as D

import pytest

from billing.money import (
    Line,
    Rounding,
    minor_unit_digits,
    money_format,
    money_round,
    running_totals,
    totals_compute,
)

# (currency, rounding, lines as (quantity, unit price, tax %), nets, taxes per rate, subtotal, tax, total)
WORKED = {
    "EUR, one line": (
        "EUR",
        Rounding.PER_LINE,
        [("3", "19.99", "20")],
        ["59.97"],
        {"20": "11.99"},
        "59.97",
        "11.99",
        "71.96",
    ),
    "EUR, a tie rounds up, not to even": (
        "EUR",
        Rounding.PER_LINE,
        [("1", "0.125", "0")],
        ["0.13"],
        {"0": "0.00"},
        "0.13",
        "0.00",
        "0.13",
    ),
    "EUR, two rates": (
        "EUR",
        Rounding.PER_LINE,
        [("1", "100", "20"), ("1", "50", "5"), ("1", "10", "20")],
        ["100.00", "50.00", "10.00"],
        {"5": "2.50", "20": "22.00"},
        "160.00",
        "24.50",
        "184.50",
    ),
    "EUR, tax rounded on each line": (
        "EUR",
        Rounding.PER_LINE,
        [("1", "0.05", "10"), ("1", "0.05", "10")],
        ["0.05", "0.05"],
        {"10": "0.02"},
        "0.10",
        "0.02",
        "0.12",
    ),
    "EUR, tax reckoned once per rate": (
        "EUR",
        Rounding.PER_RATE,
        [("1", "0.05", "10"), ("1", "0.05", "10")],
        ["0.05", "0.05"],
        {"10": "0.01"},
        "0.10",
        "0.01",
        "0.11",
    ),
    "EUR, reduced rate 5.5 %": (
        "EUR",
        Rounding.PER_LINE,
        [("7", "3.10", "5.5")],
        ["21.70"],
        {"5.5": "1.19"},
        "21.70",
        "1.19",
        "22.89",
    ),
    "JPY, no decimals": (
        "JPY",
        Rounding.PER_LINE,
        [("3", "333.5", "10")],
        ["1001"],
        {"10": "100"},
        "1001",
        "100",
        "1101",
    ),
    "JPY, a fractional quantity": (
        "JPY",
        Rounding.PER_LINE,
        [("1.5", "199", "8")],
        ["299"],
        {"8": "24"},
        "299",
        "24",
        "323",
    ),
    "KWD, three decimals": (
        "KWD",
        Rounding.PER_LINE,
        [("2", "1.2345", "5")],
        ["2.469"],
        {"5": "0.123"},
        "2.469",
        "0.123",
        "2.592",
    ),
    "BHD, a tie at the third decimal": (
        "BHD",
        Rounding.PER_LINE,
        [("1", "0.0005", "0")],
        ["0.001"],
        {"0": "0.000"},
        "0.001",
        "0.000",
        "0.001",
    ),
}


@pytest.mark.parametrize("example", WORKED.values(), ids=WORKED.keys())
def test_totals_match_the_worked_examples(example):
    currency, rounding, lines, nets, taxes, subtotal, tax, total = example
    totals = totals_compute([Line(D(q), D(p), D(r)) for q, p, r in lines], currency=currency, rounding=rounding)
    assert [str(net) for net in totals.nets] == nets
    assert {str(group.rate): str(group.tax) for group in totals.taxes} == taxes
    assert (str(totals.subtotal), str(totals.tax), str(totals.total)) == (subtotal, tax, total)


def test_tax_groups_sum_to_the_tax_total_and_list_each_rate_once():
    lines = [Line(D(1), D("9.99"), D(r)) for r in ("20", "20.00", "5", "0")]
    totals = totals_compute(lines, currency="EUR")
    assert [str(group.rate) for group in totals.taxes] == ["0", "5", "20"]
    assert sum(group.tax for group in totals.taxes) == totals.tax
    assert totals.taxes[-1].net == D("19.98")


@pytest.mark.parametrize(
    ("currency", "digits", "amount", "shown"),
    [
        ("EUR", 2, "1234.5", "1,234.50 EUR"),
        ("JPY", 0, "1234.5", "1,235 JPY"),
        ("KWD", 3, "12.3455", "12.346 KWD"),
        ("usd", 2, "1", "1.00 usd"),
    ],
)
def test_each_currency_rounds_and_shows_its_own_minor_unit(currency, digits, amount, shown):
    assert minor_unit_digits(currency) == digits
    assert money_format(D(amount), currency) == shown


def test_half_up_rounds_away_from_zero_on_a_tie():
    assert money_round(D("2.5"), "JPY") == D(3)
    assert money_round(D("-2.5"), "JPY") == D(-3)
    assert money_round(D("0.0149"), "EUR") == D("0.01")


@pytest.mark.parametrize("rounding", [Rounding.PER_LINE, Rounding.PER_RATE])
@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_running_totals_are_the_totals_of_each_first_lines(rounding, currency):
    lines = [
        Line(D(quantity), D(price), D(rate))
        for quantity, price, rate in [
            ("1", "0.05", "10"), ("3", "0.05", "10.00"), ("2", "19.99", "20"), ("-1", "4.125", "20"),
            ("1", "10.12", "7.7"), ("0.5", "3.333", "0"), ("7", "0.015", "10"), ("1", "999.995", "20"),
        ]
    ]  # fmt: skip

    running = running_totals(lines, currency=currency, rounding=rounding)

    expected = [totals_compute(lines[: i + 1], currency=currency, rounding=rounding).total for i in range(len(lines))]
    assert running == expected
    assert [str(total) for total in running] == [str(total) for total in expected]  # as many decimals too
