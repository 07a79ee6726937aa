import uuid
from datetime import UTC, datetime

import pytest

from openbss.core.errors import Conflict, InvalidValue
from openbss.core.money import Money
from openbss.party.model import (
    BillingAccount,
    check_account,
    check_parent,
    check_vat_id,
    erased_media,
    pseudonym,
)

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def account(number: str, parent=None, currency="EUR", bill_to_parent=False, **kw) -> BillingAccount:
    return BillingAccount(uuid.uuid4(), number, number, None, currency, "DE", 1, "UTC", kw.pop("state", "active"), T0,
                          parent_id=parent.id if parent else None, bill_to_parent=bill_to_parent, **kw)


@pytest.mark.parametrize("raw, stored", [("DE136695976", "DE136695976"), ("de 136 695 976", "DE136695976"),
                                         ("FR40303265045", "FR40303265045"), (None, None)])
def test_vat_ids_are_checked_and_stored_compact(raw, stored):
    assert check_vat_id(raw) == stored


@pytest.mark.parametrize("raw", ["DE136695977", "XX123", "", "136695976"])
def test_bad_vat_ids_are_named(raw):
    with pytest.raises(InvalidValue, match=f"vatId={raw!r} is not a valid EU VAT"):
        check_vat_id(raw)


def test_a_cycle_names_the_loop():
    a = account("ACC-1")
    b = account("ACC-2", parent=a)
    c = account("ACC-3", parent=b)
    with pytest.raises(Conflict) as err:
        check_parent(a, c, [b, a])  # a under c, whose ancestors are b then a
    assert err.value.message == ("accountRelationship: making ACC-3 the parent of ACC-1 would make ACC-1 its own "
                                 "ancestor (ACC-1 -> ACC-3 -> ACC-2 -> ACC-1)")
    check_parent(account("ACC-4"), c, [b, a])  # a fresh account may hang anywhere


def test_active_accounts_need_currency_and_country_and_limits_in_their_currency():
    with pytest.raises(InvalidValue, match="state='active' needs currency to be set"):
        check_account(account("ACC-1", currency=None))
    assert check_account(account("ACC-1", currency=None, state="pending")).state == "pending"
    with pytest.raises(InvalidValue, match="creditLimit.unit='USD' must be the account's currency EUR"):
        check_account(account("ACC-1", credit_limit=Money.of("10", "USD")))


def test_pseudonyms_are_stable_and_reveal_nothing():
    pid = uuid.UUID("0192f0e0-0000-7000-8000-000000000001")
    assert pseudonym(pid) == pseudonym(pid) != pseudonym(uuid.uuid4())
    assert pseudonym(pid).startswith("erased-") and str(pid) not in pseudonym(pid)
    assert erased_media([{"mediumType": "email", "preferred": True,
                          "characteristic": {"emailAddress": "a@b.c", "@type": "x"}}], "P") == [
        {"mediumType": "email", "characteristic": {"emailAddress": "P"}}]
