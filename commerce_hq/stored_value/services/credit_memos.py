"""Credit memo services. Memos are single use: a partial redemption closes the memo and
issues a remainder memo whose number was reserved when the memo was locked."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from commerce_hq.channels.models import Channel, Register
from commerce_hq.parameters.services import parameters_get_by_entity_id

from ..errors import AlreadyRedeemed, AmountExceedsMemo, LockNotHeld, MemoLocked, MemoNotOpen
from ..locks import credit_memo_for_update, mask
from ..models import AuditEvent, CreditMemo, LedgerEntry
from .common import (
    Actor,
    check_amount,
    check_currency,
    check_transaction_id,
    clear_lock,
    random_digits,
    refuse_if_locked_by_other,
    release_lock,
    require_reason,
    save_lock,
    set_lock,
)


def credit_memo_number_generate() -> str:
    """``CM-`` and 13 random digits, unused by any memo and not reserved by a lock."""
    while True:
        number = "CM-" + random_digits(13)
        if not CreditMemo.objects.filter(Q(number=number) | Q(lock_remainder_number=number)).exists():
            return number


def _book(memo: CreditMemo, operation: str, amount: Decimal, actor: Actor, transaction_id: str, **extra):
    return LedgerEntry.objects.create(
        credit_memo=memo,
        operation=operation,
        amount=amount,
        balance_after=memo.balance,
        currency=memo.currency,
        **actor.entry_fields(transaction_id),
        **extra,
    )


def _require_open(memo: CreditMemo) -> None:
    if memo.status != CreditMemo.Status.OPEN:
        raise MemoNotOpen(f"Credit memo {mask(memo.number)} is {memo.status}.", memo_status=memo.status)


def _create(*, number: str, legal_entity, currency: str, amount: Decimal, channel, remainder_of=None):
    return CreditMemo.objects.create(
        number=number,
        legal_entity=legal_entity,
        currency=currency,
        amount=amount,
        balance=amount,
        issued_channel=channel,
        remainder_of=remainder_of,
    )


@transaction.atomic
def credit_memo_issue(
    *, channel: Channel, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[CreditMemo, LedgerEntry]:
    """Issue store credit (instead of a refund) for ``amount``."""
    check_transaction_id(transaction_id)
    amount = check_amount(amount, currency)
    check_currency(channel.currency, currency)
    memo = _create(
        number=credit_memo_number_generate(),
        legal_entity=channel.legal_entity,
        currency=currency,
        amount=amount,
        channel=channel,
    )
    return memo, _book(memo, LedgerEntry.Operation.ISSUE, amount, actor, transaction_id)


@transaction.atomic
def credit_memo_lock(*, number: str, register: Register, transaction_id: str) -> CreditMemo:
    """Lock the memo for (register, transaction) and reserve the remainder memo's number."""
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, register)
    if refuse_if_locked_by_other(memo, register, transaction_id, MemoLocked, "The credit memo"):
        return memo
    _require_open(memo)
    timeout = parameters_get_by_entity_id(legal_entity_id=memo.legal_entity_id).credit_memo_lock_timeout_minutes
    set_lock(memo, register, transaction_id, timeout)
    memo.lock_remainder_number = credit_memo_number_generate()
    save_lock(memo)
    return memo


@transaction.atomic
def credit_memo_unlock(*, number: str, register: Register, transaction_id: str) -> CreditMemo:
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, register)
    if refuse_if_locked_by_other(memo, register, transaction_id, LockNotHeld, "The credit memo"):
        clear_lock(memo)
        save_lock(memo)
    return memo


@transaction.atomic
def credit_memo_redeem(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[CreditMemo, CreditMemo | None]:
    """Apply ``amount`` (at most the memo's amount), close the memo, and issue the remainder
    under the reserved number. A replay by the same register+transaction changes nothing."""
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, actor.register)
    amount = check_amount(amount, currency)
    check_currency(memo.currency, currency)
    mine = refuse_if_locked_by_other(memo, actor.register, transaction_id, MemoLocked, "The credit memo")
    if not mine:
        replay = _replay(memo, actor.register, transaction_id, amount)
        if replay is not None:
            return replay
        _require_open(memo)
    if amount > memo.balance:
        raise AmountExceedsMemo(
            f"The credit memo is for {memo.amount.normalize():f} {memo.currency}.", memo_amount=memo.amount
        )
    return _apply(memo, amount, actor, transaction_id)


def _replay(memo: CreditMemo, register: Register | None, transaction_id: str, amount: Decimal):
    if memo.status != CreditMemo.Status.APPLIED:
        return None
    previous = memo.entries.filter(operation=LedgerEntry.Operation.REDEEM).first()
    if (
        previous is None
        or previous.register_id != getattr(register, "pk", None)
        or (previous.transaction_id != transaction_id)
    ):
        return None
    if -previous.amount != amount:
        raise AlreadyRedeemed("This transaction already redeemed this memo for another amount.")
    return memo, CreditMemo.objects.filter(remainder_of=memo).first()


def _apply(memo: CreditMemo, amount: Decimal, actor: Actor, transaction_id: str, *, remainder_number: str = ""):
    """Close ``memo`` having applied ``amount``; returns (memo, remainder memo or None)."""
    rest = memo.balance - amount
    remainder_number = remainder_number or memo.lock_remainder_number or credit_memo_number_generate()
    memo.applied_amount = amount
    memo.balance = rest
    _book(memo, LedgerEntry.Operation.REDEEM, -amount, actor, transaction_id)
    remainder = None
    if rest > 0:
        memo.balance = Decimal(0)
        _book(memo, LedgerEntry.Operation.REMAINDER_OUT, -rest, actor, transaction_id, note=remainder_number)
        remainder = _create(
            number=remainder_number,
            legal_entity=memo.legal_entity,
            currency=memo.currency,
            amount=rest,
            channel=actor.channel,
            remainder_of=memo,
        )
        _book(remainder, LedgerEntry.Operation.ISSUE, rest, actor, transaction_id, note=f"remainder of {memo.number}")
    memo.status = CreditMemo.Status.APPLIED
    clear_lock(memo)
    save_lock(memo, "applied_amount", "balance", "status")
    return memo, remainder


@transaction.atomic
def credit_memo_release_lock(
    *, number: str, user, reason: str, expected_owner: tuple[int | None, str] | None = None
) -> CreditMemo:
    """Admin release of a stuck lock (reason required, audited); the reservation is dropped."""
    reason = require_reason(reason)
    memo = credit_memo_for_update(number)
    release_lock(memo, user=user, reason=reason, expected_owner=expected_owner)
    return memo


@transaction.atomic
def credit_memo_void(*, number: str, user, reason: str) -> CreditMemo:
    """Void an open, unlocked memo: its value leaves the books with a void entry."""
    reason = require_reason(reason)
    memo = credit_memo_for_update(number)
    _require_open(memo)
    refuse_if_locked_by_other(memo, None, "", MemoLocked, "The credit memo")
    amount = memo.balance
    memo.balance = Decimal(0)
    memo.status = CreditMemo.Status.VOIDED
    memo.save(update_fields=["balance", "status"])
    AuditEvent.objects.create(credit_memo=memo, action=AuditEvent.Action.VOIDED, user=user, reason=reason)
    _book(memo, LedgerEntry.Operation.VOID, -amount, Actor(user=user, origin="back_office"), "", note=reason)
    return memo
