"""Amounts as the tests write them: `eur("30.00")`."""

from openbss.core.money import Money


def eur(value: object) -> Money:
    """Euros, exact: from a decimal string or an integer (a float is refused, as everywhere)."""
    return Money.of(value, "EUR")
