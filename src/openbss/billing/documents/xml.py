"""What UBL and CII writing share: elements in a namespace and EN 16931 number formats.

Amounts are written with exactly the currency's minor units (EUR 12.50, JPY 1250): billing already
rounded them; quantities, prices and rates without trailing zeros and never in exponent form.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from openbss.core.money import Money, minor_units


def element(parent: etree._Element, namespace: str, name: str, text: object = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{namespace}}}{name}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def amount_text(money: Money) -> str:
    return f"{money.amount.quantize(Decimal(1).scaleb(-minor_units(money.currency))):f}"


def decimal_text(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text
