"""The rows every money move leaves behind, each built in one place: ledger entries, audit
events and holds (the record of every lock taken)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ..models import AuditEvent, CreditMemo, GiftCard, Hold, LedgerEntry, LockFields
from ..rules import Kind
from .common import Actor


def account_field(obj: LockFields) -> str:
    """The foreign key naming ``obj`` on ledger entries, holds and audit events."""
    return str(obj.kind)


def ledger_values(
    obj: GiftCard | CreditMemo, operation: str, amount: Decimal, actor: Actor, transaction_id: str, note: str = ""
) -> dict:
    """The one constructor of a ledger entry's fields: ``amount`` signed, the balance after it
    the object's balance now. Bulk writers add ``created_at`` and the account id."""
    return {
        "operation": operation,
        "amount": amount,
        "balance_after": obj.balance,
        "currency": obj.currency,
        "channel_id": getattr(actor.channel, "pk", None),
        "register_id": getattr(actor.register, "pk", None),
        "staff_id": actor.staff_id[:32],
        "transaction_id": transaction_id,
        "origin": actor.origin,
        "created_by_id": getattr(actor.user, "pk", None),
        "note": note[:200],
    }


def book(obj, operation: str, amount: Decimal, actor: Actor, transaction_id: str, note: str = "") -> LedgerEntry:
    values = ledger_values(obj, operation, amount, actor, transaction_id, note)
    return LedgerEntry.objects.create(**{account_field(obj): obj}, **values)


def audit(obj: LockFields, action: str, *, user=None, reason: str = "", with_lock: bool = False) -> AuditEvent:
    """The one writer of audit events; ``with_lock`` records the lock's owner (a lock ending)."""
    owner = {"lock_register_id": obj.lock_register_id, "lock_transaction_id": obj.lock_transaction_id}
    return AuditEvent.objects.create(
        **{account_field(obj): obj},
        action=action,
        user=user,
        reason=reason[:300],
        **(owner if with_lock else {}),
    )


def hold_take(obj: LockFields, *, device_id: int | None, now: datetime) -> Hold:
    """Record the lock just set on ``obj`` (its register, transaction and the balance it shows)."""
    return Hold.objects.create(
        **{account_field(obj): obj},
        register_id=obj.lock_register_id,
        device_id=device_id,
        transaction_id=obj.lock_transaction_id,
        taken_at=now,
        balance_shown=obj.balance,
    )


def hold_end(obj: LockFields, end: str, now: datetime | None = None) -> int:
    """End the open hold of ``obj`` (there is at most one)."""
    filters = {account_field(obj): obj, "ended_at__isnull": True}
    return Hold.objects.filter(**filters).update(end=end, ended_at=now or timezone.now())


def holds_of(kind: Kind) -> str:
    return f"{kind}_id"
