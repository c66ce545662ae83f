"""Strict input fields and output formatting for the POS API.

Strings are strings: a JSON number where the contract has a string is refused.
Amounts are decimal strings; every amount failure carries the ``invalid_amount`` code.
Timestamps are written RFC 3339 UTC with a ``Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce_hq import money
from commerce_hq.stored_value.errors import InvalidRequest
from commerce_hq.stored_value.locks import normalize_number

INVALID_AMOUNT = "invalid_amount"
DECIMAL_STRING = {"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d+)?$", "example": "12.50"}
TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-11-23T10:00:00Z"}


def rfc3339(value: datetime | None) -> str | None:
    """``2026-11-23T10:00:00Z``: UTC, whole seconds."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount_text(value: Decimal | None, currency: str | None) -> str | None:
    """An amount for a response: with the currency's decimals when that loses nothing."""
    if value is None:
        return None
    value = Decimal(value)
    if currency and money.is_currency(currency):
        fixed = money.quantize(value, currency)
        if fixed == value:
            return format(fixed, "f")
    return format(value.normalize(), "f")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrictCharField(serializers.CharField):
    """A CharField that refuses non-strings and lone surrogates instead of coercing them."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _encodable(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class TransactionIdField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The register's own transaction id (1–64 characters).")
        super().__init__(min_length=1, max_length=64, **kwargs)


class StaffIdField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(
            required=False, allow_blank=True, max_length=32, help_text="Staff member recorded on the ledger.", **kwargs
        )


class NumberField(StrictCharField):
    """A card or memo number: 8–32 of A-Z, 0-9 and '-', case-insensitive, returned upper-case."""

    default_error_messages = {"invalid": "8 to 32 characters of A-Z, 0-9 and '-'."}

    def to_internal_value(self, data):
        try:
            return normalize_number(super().to_internal_value(data))
        except InvalidRequest:
            self.fail("invalid")


class CurrencyField(StrictCharField):
    default_error_messages = {"invalid": "An ISO 4217 currency code such as USD."}

    def __init__(self, **kwargs):
        super().__init__(help_text="ISO 4217 currency code.", **kwargs)

    def to_internal_value(self, data):
        code = super().to_internal_value(data)
        if not money.is_currency(code):
            self.fail("invalid")
        return code


@extend_schema_field(DECIMAL_STRING)
class AmountField(serializers.Field):
    """A positive decimal string (``"12.50"``, ``"12.5"``, ``"12"``). The decimals allowed by the
    currency are checked by ``MoneyInput.validate``, which knows the currency."""

    default_error_messages = {
        "required": "This field is required.",
        "null": "This field may not be null.",
        "invalid": 'A positive plain decimal string such as "12.50".',
    }

    def fail(self, key, **kwargs):
        raise serializers.ValidationError(self.error_messages[key].format(**kwargs), code=INVALID_AMOUNT)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.isascii():
            self.fail("invalid")
        try:
            amount = money.to_decimal(data)
        except money.MoneyError:
            self.fail("invalid")
        if amount <= 0:
            self.fail("invalid")
        return amount

    def to_representation(self, value):
        return format(value, "f")


class MoneyInput(serializers.Serializer):
    """Input with ``amount`` + ``currency``: refuses more decimals than the currency has."""

    amount = AmountField(help_text='Decimal string, e.g. "12.50".')
    currency = CurrencyField()

    def validate(self, attrs):
        check_decimals(attrs["amount"], attrs["currency"], code=INVALID_AMOUNT)
        return attrs


def check_decimals(amount: Decimal, currency: str, *, code: str | None = None) -> None:
    """Refuse a valid positive ``amount`` with more decimals than ``currency`` has, as an
    ``amount`` error with ``code`` (DRF's ``invalid`` when None)."""
    try:
        money.parse_amount(amount, currency)
    except money.MoneyError as exc:
        raise serializers.ValidationError({"amount": str(exc)}, code=code) from None
