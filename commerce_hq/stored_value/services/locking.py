"""Running a rule decision on a row-locked card or memo, and the lock's life around it: the owner
named in a refusal, an expired lock taken over, a lock set or ended together with its hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

from commerce_hq.channels.models import Register

from ..errors import CardLocked, LockNotHeld, MemoLocked, StoredValueError
from ..models import AuditEvent, Hold, LockFields
from ..rules import Decision, Kind, LockedElsewhere, Request, Standing, lock_expiry
from .common import credit_memo_number_generate
from .records import audit, hold_end, hold_take

LOCK_FIELDS = ["lock_register", "lock_transaction_id", "locked_at", "lock_expires_at"]
IN_USE = {Kind.GIFT_CARD: CardLocked, Kind.CREDIT_MEMO: MemoLocked}


def lock_fields(obj: LockFields) -> list[str]:
    return [*LOCK_FIELDS, "lock_remainder_number"] if obj.kind == Kind.CREDIT_MEMO else LOCK_FIELDS


def save_lock(obj: LockFields, *also: str) -> None:
    obj.save(update_fields=[*also, *lock_fields(obj)])


def set_lock(obj: LockFields, register: Register, transaction_id: str, now: datetime, timeout: int | None) -> None:
    obj.lock_register = register
    obj.lock_transaction_id = transaction_id
    obj.locked_at = now
    obj.lock_expires_at = lock_expiry(now, timeout)


def clear_lock(obj: LockFields) -> None:
    obj.lock_register = None
    obj.lock_transaction_id = ""
    obj.locked_at = None
    obj.lock_expires_at = None
    if obj.kind == Kind.CREDIT_MEMO:
        obj.lock_remainder_number = ""


def lock_owner(obj: LockFields) -> dict:
    register = Register.objects.select_related("channel").get(pk=obj.lock_register_id)
    return {
        "channel": register.channel.code,
        "register": register.code,
        "transaction_id": obj.lock_transaction_id,
        "locked_at": obj.locked_at,
        "expires_at": obj.lock_expires_at,
    }


def refuse_locked(obj: LockFields, error: type[StoredValueError]) -> NoReturn:
    owner = lock_owner(obj)
    raise error(
        f"The {obj.kind.label} is in use at store {owner['channel']}, register {owner['register']} "
        f"since {owner['locked_at']:%Y-%m-%d %H:%M:%S} UTC.",
        lock={k: owner[k] for k in ("channel", "register", "locked_at")},
    )


def end_lock(obj: LockFields, end: str, *, user=None, reason: str = "") -> None:
    """End the lock by expiry or an admin's release: audited with its former owner, hold ended."""
    action = AuditEvent.Action.LOCK_EXPIRED if end == Hold.End.EXPIRED else AuditEvent.Action.LOCK_RELEASED
    audit(obj, action, user=user, reason=reason, with_lock=True)
    hold_end(obj, end)
    clear_lock(obj)
    save_lock(obj)


def decide(obj: LockFields, rule: Callable[..., Decision], request: Request, *args, refusal=None) -> Decision:
    """``rule(obj, request, *args)``; a lock held elsewhere is refused naming its owner, an
    expired one is ended before the decision is carried out."""
    try:
        decision = rule(obj, request, *args)
    except LockedElsewhere:
        refuse_locked(obj, refusal or IN_USE[obj.kind])
    if decision.standing is Standing.EXPIRED:
        end_lock(obj, Hold.End.EXPIRED)
    return decision


def carry_out(
    obj: LockFields,
    decision: Decision,
    request: Request,
    *,
    register: Register | None,
    end: str = Hold.End.REDEEMED,
    timeout: int | None = None,
    device_id: int | None = None,
    also: tuple[str, ...] = (),
) -> None:
    """Write what ``decision`` says: the lock taken (with its hold), the balance moved, the
    lock ended (its hold too, as ``end``)."""
    if decision.take_lock:
        set_lock(obj, register, request.transaction_id, request.now, timeout)
        if obj.kind == Kind.CREDIT_MEMO:
            obj.lock_remainder_number = credit_memo_number_generate()
        hold_take(obj, device_id=device_id, now=request.now)
    obj.balance += decision.change
    if decision.clear_lock and obj.is_locked:
        hold_end(obj, end, request.now)
        clear_lock(obj)
    if decision.take_lock or decision.clear_lock or decision.change or also:
        save_lock(obj, *(["balance"] if decision.change else []), *also)


def release_lock(obj, *, user, reason: str, expected_owner: tuple[int | None, str] | None) -> None:
    """The admin release shared by cards and memos. ``expected_owner`` (register id, transaction
    id) is the lock the admin saw on the page: when the lock changed since, nothing is released."""
    if expected_owner is not None and (obj.lock_register_id, obj.lock_transaction_id) != expected_owner:
        raise LockNotHeld("The lock changed since you looked; nothing was released.")
    if obj.is_locked:
        end_lock(obj, Hold.End.RELEASED, user=user, reason=reason)
