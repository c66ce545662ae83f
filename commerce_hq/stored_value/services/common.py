"""Pieces shared by the gift card and credit memo services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from commerce_hq import money
from commerce_hq.channels.models import Channel, Register

from .. import rules
from ..errors import InvalidAmount, InvalidRequest
from ..models import CreditMemo, GiftCard, Origin


@dataclass(frozen=True)
class Actor:
    """Who moves the money: the register (and its channel) or a back-office user."""

    channel: Channel | None = None
    register: Register | None = None
    staff_id: str = ""
    origin: str = Origin.ONLINE
    user: object = None
    device_id: int | None = None

    @classmethod
    def pos(
        cls, register: Register, *, staff_id: str = "", origin: str = Origin.ONLINE, device_id: int | None = None
    ) -> Actor:
        return cls(
            channel=register.channel, register=register, staff_id=staff_id or "", origin=origin, device_id=device_id
        )

    @classmethod
    def back_office(cls, user) -> Actor:
        return cls(user=user, origin=Origin.BACK_OFFICE)

    @property
    def register_id(self) -> int | None:
        return getattr(self.register, "pk", None)


def request_for(actor: Actor, transaction_id: str, amount: Decimal = Decimal(0), currency: str = "") -> rules.Request:
    """The rules' view of a POS call, stamped now."""
    return rules.Request(actor.register_id, transaction_id, timezone.now(), amount, currency)


def check_transaction_id(transaction_id: object) -> str:
    if not isinstance(transaction_id, str) or not 1 <= len(transaction_id) <= 64:
        raise InvalidRequest(
            "transaction_id must be 1 to 64 characters.",
            errors=[{"field": "transaction_id", "detail": "1 to 64 characters."}],
        )
    return transaction_id


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """A positive amount with no more decimals than ``currency`` allows."""
    try:
        return money.parse_amount(amount, currency)
    except money.MoneyError as exc:
        error = InvalidAmount if exc.code == "invalid_amount" else InvalidRequest
        field = "amount" if exc.code == "invalid_amount" else "currency"
        raise error(str(exc), errors=[{"field": field, "detail": str(exc)}]) from exc


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("A reason is required.", errors=[{"field": "reason", "detail": "Required."}])
    return reason[:300]


def random_digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


def gift_card_number_generate() -> str:
    """16 random digits, the last a Luhn check digit; unguessable and unused."""
    while True:
        body = random_digits(15)
        number = body + luhn_check_digit(body)
        if not GiftCard.objects.filter(number=number).exists():
            return number


def credit_memo_number_generate() -> str:
    """``CM-`` and 13 random digits, unused by any memo and not reserved by a lock."""
    while True:
        number = "CM-" + random_digits(13)
        if not CreditMemo.objects.filter(Q(number=number) | Q(lock_remainder_number=number)).exists():
            return number
