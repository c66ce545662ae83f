"""Pieces shared by the gift card and credit memo services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from commerce_hq import money
from commerce_hq.channels.models import Channel, Register

from ..errors import CurrencyMismatch, InvalidAmount, InvalidRequest, LockNotHeld, StoredValueError
from ..models import AuditEvent, LockFields, Origin


@dataclass(frozen=True)
class Actor:
    """Who moves the money: the register (and its channel) or a back-office user."""

    channel: Channel | None = None
    register: Register | None = None
    staff_id: str = ""
    origin: str = Origin.ONLINE
    user: object = None

    @classmethod
    def pos(cls, register: Register, *, staff_id: str = "", origin: str = Origin.ONLINE) -> Actor:
        return cls(channel=register.channel, register=register, staff_id=staff_id or "", origin=origin)

    def entry_fields(self, transaction_id: str) -> dict:
        return {
            "channel": self.channel,
            "register": self.register,
            "staff_id": self.staff_id[:32],
            "transaction_id": transaction_id,
            "origin": self.origin,
            "created_by": self.user,
        }


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


def check_currency(expected: str, given: str) -> None:
    if given != expected:
        raise CurrencyMismatch(f"This is a {expected} account; {given} was given.", expected=expected)


def lock_owner(obj: LockFields) -> dict:
    register = Register.objects.select_related("channel").get(pk=obj.lock_register_id)
    return {
        "channel": register.channel.code,
        "register": register.code,
        "transaction_id": obj.lock_transaction_id,
        "locked_at": obj.locked_at,
        "expires_at": obj.lock_expires_at,
    }


def held_by(obj: LockFields, register: Register, transaction_id: str) -> bool:
    return obj.lock_register_id == register.pk and obj.lock_transaction_id == transaction_id


def refuse_if_locked_by_other(
    obj: LockFields, register: Register | None, transaction_id: str, error: type[StoredValueError], what: str
) -> bool:
    """True when ``register``/``transaction_id`` holds the lock; False when free (an expired lock
    is dropped); raises ``error`` naming the owner when someone else holds it."""
    if not obj.is_locked:
        return False
    if register is not None and held_by(obj, register, transaction_id):
        return True
    if obj.lock_expires_at is not None and obj.lock_expires_at <= timezone.now():
        audit_lock_end(obj, AuditEvent.Action.LOCK_EXPIRED)
        clear_lock(obj)
        save_lock(obj)
        return False
    owner = lock_owner(obj)
    raise error(
        f"{what} is in use at store {owner['channel']}, register {owner['register']} "
        f"since {owner['locked_at']:%Y-%m-%d %H:%M:%S} UTC.",
        lock={k: owner[k] for k in ("channel", "register", "locked_at")},
    )


def set_lock(obj: LockFields, register: Register, transaction_id: str, timeout_minutes: int | None) -> None:
    now = timezone.now()
    obj.lock_register = register
    obj.lock_transaction_id = transaction_id
    obj.locked_at = now
    obj.lock_expires_at = now + timedelta(minutes=timeout_minutes) if timeout_minutes else None


def clear_lock(obj: LockFields) -> None:
    obj.lock_register = None
    obj.lock_transaction_id = ""
    obj.locked_at = None
    obj.lock_expires_at = None
    if hasattr(obj, "lock_remainder_number"):
        obj.lock_remainder_number = ""


LOCK_FIELDS = ["lock_register", "lock_transaction_id", "locked_at", "lock_expires_at"]


def lock_fields(obj: LockFields) -> list[str]:
    return [*LOCK_FIELDS, "lock_remainder_number"] if hasattr(obj, "lock_remainder_number") else LOCK_FIELDS


def save_lock(obj: LockFields, *also: str) -> None:
    obj.save(update_fields=[*also, *lock_fields(obj)])


def audit_lock_end(obj: LockFields, action: str, *, user=None, reason: str = "") -> AuditEvent:
    target = {"credit_memo": obj} if hasattr(obj, "lock_remainder_number") else {"gift_card": obj}
    return AuditEvent.objects.create(
        **target,
        action=action,
        lock_register_id=obj.lock_register_id,
        lock_transaction_id=obj.lock_transaction_id,
        user=user,
        reason=reason,
    )


def release_lock(obj: LockFields, *, user, reason: str, expected_owner: tuple[int | None, str] | None) -> None:
    """The admin release shared by cards and memos: the former owner and the reason are audited.
    ``expected_owner`` (register id, transaction id) is the lock the admin saw on the page: when the
    lock changed since, nothing is released."""
    if expected_owner is not None and (obj.lock_register_id, obj.lock_transaction_id) != expected_owner:
        raise LockNotHeld("The lock changed since you looked; nothing was released.")
    if obj.is_locked:
        audit_lock_end(obj, AuditEvent.Action.LOCK_RELEASED, user=user, reason=reason)
        clear_lock(obj)
        save_lock(obj)


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


def is_expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= timezone.now()
