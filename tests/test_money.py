from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_hq import money


@pytest.mark.parametrize(("raw", "expected"), [("12.50", "12.50"), ("12.5", "12.5"), ("12", "12")])
def test_parse_accepts_plain_decimal_strings(raw, expected):
    assert money.parse_amount(raw, "USD") == Decimal(expected)


@pytest.mark.parametrize("raw", ["1e3", " 5", "abc", "", "-1", "0", "0.00", "1.001", "NaN", "Infinity", "1,5", "+5"])
def test_parse_refuses_anything_else(raw):
    with pytest.raises(money.MoneyError) as refused:
        money.parse_amount(raw, "USD")
    assert refused.value.code == "invalid_amount"


@pytest.mark.parametrize("raw", [12, 12.5, None, ["1"]])
def test_parse_refuses_non_strings(raw):
    with pytest.raises(money.MoneyError):
        money.parse_amount(raw, "USD")


def test_currency_decimals_follow_iso_4217():
    assert (money.decimals("USD"), money.decimals("JPY"), money.decimals("KWD")) == (2, 0, 3)
    with pytest.raises(money.MoneyError) as refused:
        money.parse_amount("1", "usd")
    assert refused.value.code == "invalid_request"


def test_format_writes_the_currency_decimals():
    assert money.format_amount(Decimal("12.5"), "USD") == "12.50"
    assert money.format_amount(Decimal("1000"), "JPY") == "1000"
    assert money.format_amount(None, "USD") is None


@given(cents=st.integers(min_value=1, max_value=10**12))
def test_format_then_parse_round_trips(cents):
    amount = Decimal(cents).scaleb(-2)
    assert money.parse_amount(money.format_amount(amount, "USD"), "USD") == amount
