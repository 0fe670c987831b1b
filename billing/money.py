"""Money as the portal counts it: Decimal amounts rounded half-up to each currency's minor unit.

A line's net amount is rounded on its own; tax is reckoned per tax rate, either on each line (rounded there,
then added up) or on the rate's total net, as the organisation chooses. Totals are sums of rounded figures,
so what an invoice shows always adds up.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not the hundredth; every other has two decimals.
_MINOR_UNIT_DIGITS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"], 0),
    **dict.fromkeys(["XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}
HUNDRED = Decimal(100)


def minor_unit_digits(currency: str) -> int:
    return _MINOR_UNIT_DIGITS.get(currency.upper(), 2)


def money_round(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up (away from zero on a tie) to `currency`'s minor unit."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit_digits(currency)), rounding=ROUND_HALF_UP)


def plain_number(value: Decimal) -> str:
    """A quantity or a rate as a person writes it: "10", "2.5", never "1E+1" or "10.000"."""
    return f"{value.normalize():f}"


def money_format(amount: Decimal, currency: str) -> str:
    """ "1,234.50 EUR", "1,235 JPY", "12.345 KWD": as many decimals as the currency has."""
    digits = minor_unit_digits(currency)
    return f"{money_round(amount, currency):,.{digits}f} {currency}"


def unit_price_format(amount: Decimal, currency: str) -> str:
    """A price per unit, to the currency's minor unit or finer where it is set finer ("1.745 EUR" a litre): times
    the quantity, it gives the line's net as shown."""
    digits = max(minor_unit_digits(currency), -int(amount.normalize().as_tuple().exponent))
    return f"{amount:,.{digits}f} {currency}"


class Rounding:
    PER_LINE = "per_line"
    PER_RATE = "per_rate"
    CHOICES = [
        (PER_LINE, "Tax rounded on each line, then added up per rate"),
        (PER_RATE, "Tax reckoned once per rate, on the rate's total net"),
    ]


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal  # percent: 20 for 20 %


@dataclass(frozen=True)
class TaxGroup:
    rate: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    nets: tuple[Decimal, ...]  # each line's net, rounded, in the lines' order
    taxes: tuple[TaxGroup, ...]  # one per tax rate, lowest rate first
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def totals_compute(lines: Iterable[Line], *, currency: str, rounding: str = Rounding.PER_LINE) -> Totals:
    lines = list(lines)
    nets = tuple(money_round(line.quantity * line.unit_price, currency) for line in lines)
    by_rate: dict[Decimal, list[Decimal]] = {}
    for line, net in zip(lines, nets, strict=True):
        # 20.00 and 20 are one rate.
        by_rate.setdefault(Decimal(f"{line.tax_rate.normalize():f}"), []).append(net)
    groups = []
    for rate in sorted(by_rate):
        rate_nets = by_rate[rate]
        if rounding == Rounding.PER_RATE:
            tax = money_round(sum(rate_nets, Decimal(0)) * rate / HUNDRED, currency)
        else:
            tax = sum(
                (money_round(net * rate / HUNDRED, currency) for net in rate_nets), money_round(Decimal(0), currency)
            )
        groups.append(TaxGroup(rate=rate, net=sum(rate_nets, Decimal(0)), tax=tax))
    subtotal = sum(nets, money_round(Decimal(0), currency))
    tax = sum((group.tax for group in groups), money_round(Decimal(0), currency))
    return Totals(nets=nets, taxes=tuple(groups), subtotal=subtotal, tax=tax, total=subtotal + tax)


def running_totals(lines: Iterable[Line], *, currency: str, rounding: str = Rounding.PER_LINE) -> list[Decimal]:
    """The total with tax after each line: what totals_compute gives for the first line, the first two, and so on,
    in one pass (a tab's page lists thousands of charges). Per rate, only the rate of the line added is reckoned
    again."""
    zero = money_round(Decimal(0), currency)
    subtotal = tax = zero
    rate_nets: dict[Decimal, Decimal] = {}
    rate_taxes: dict[Decimal, Decimal] = {}
    totals = []
    for line in lines:
        net = money_round(line.quantity * line.unit_price, currency)
        rate = Decimal(f"{line.tax_rate.normalize():f}")
        subtotal += net
        if rounding == Rounding.PER_RATE:
            rate_nets[rate] = rate_nets.get(rate, Decimal(0)) + net
            rate_tax = money_round(rate_nets[rate] * rate / HUNDRED, currency)
            tax += rate_tax - rate_taxes.get(rate, zero)
            rate_taxes[rate] = rate_tax
        else:
            tax += money_round(net * rate / HUNDRED, currency)
        totals.append(subtotal + tax)
    return totals
