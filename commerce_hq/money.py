"""Money: Decimal amounts with an ISO 4217 currency.

Minor units come from the CLDR data shipped by Babel, so JPY has 0 decimals,
USD 2 and KWD 3 without a hand-kept table.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

_CURRENCIES = frozenset(list_currencies())
_PLAIN_DECIMAL = re.compile(r"[0-9]{1,13}(\.[0-9]{1,6})?")


class MoneyError(ValueError):
    """An amount or currency that cannot be used; ``code`` names the API error."""

    def __init__(self, message: str, *, code: str = "invalid_amount") -> None:
        super().__init__(message)
        self.code = code


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code in _CURRENCIES


def decimals(currency: str) -> int:
    return get_currency_precision(currency)


def parse_amount(raw: str | Decimal, currency: str, *, allow_zero: bool = False) -> Decimal:
    """Return a positive Decimal amount valid for ``currency`` or raise MoneyError."""
    if not is_currency(currency):
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code.", code="invalid_request")
    amount = to_decimal(raw)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise MoneyError("The amount must be greater than zero.")
    if -amount.as_tuple().exponent > decimals(currency):
        raise MoneyError(f"{currency} amounts have at most {decimals(currency)} decimals.")
    return amount


def to_decimal(raw: str | Decimal) -> Decimal:
    if isinstance(raw, Decimal):
        raw = format(raw, "f")
    if not isinstance(raw, str) or not _PLAIN_DECIMAL.fullmatch(raw):
        raise MoneyError('The amount must be a plain decimal string such as "12.50".')
    try:
        return Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise MoneyError("The amount is not a decimal number.") from exc


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals(currency)))


def format_amount(amount: Decimal | None, currency: str) -> str | None:
    """Write an amount with the currency's decimals: ``Decimal("12.5")`` → ``"12.50"``."""
    if amount is None:
        return None
    return format(quantize(amount, currency), "f")
