"""Credit memo services. Memos are single use: a partial redemption closes the memo and
issues a remainder memo whose number was reserved when the memo was locked."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import transaction

from commerce_hq.channels.models import Channel, Register
from commerce_hq.parameters.services import parameters_get_by_entity_id

from .. import rules
from ..errors import LockNotHeld
from ..locks import credit_memo_for_update
from ..models import AuditEvent, CreditMemo, Hold, LedgerEntry
from .common import Actor, check_amount, check_transaction_id, credit_memo_number_generate, request_for, require_reason
from .locking import carry_out, decide, release_lock
from .records import audit, book

Operation = LedgerEntry.Operation


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
    rules.require_currency(channel, currency)
    memo = _create(
        number=credit_memo_number_generate(),
        legal_entity=channel.legal_entity,
        currency=currency,
        amount=amount,
        channel=channel,
    )
    return memo, book(memo, Operation.ISSUE, amount, actor, transaction_id)


@transaction.atomic
def credit_memo_lock(
    *, number: str, register: Register, transaction_id: str, device_id: int | None = None
) -> CreditMemo:
    """Lock the memo for (register, transaction), on record as a hold, and reserve the remainder
    memo's number."""
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, register)
    request = request_for(Actor.pos(register), transaction_id)
    decision = decide(memo, rules.decide_lock, request)
    timeout = parameters_get_by_entity_id(legal_entity_id=memo.legal_entity_id).credit_memo_lock_timeout_minutes
    carry_out(memo, decision, request, register=register, timeout=timeout, device_id=device_id)
    return memo


@transaction.atomic
def credit_memo_unlock(*, number: str, register: Register, transaction_id: str) -> CreditMemo:
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, register)
    request = request_for(Actor.pos(register), transaction_id)
    decision = decide(memo, rules.decide_unlock, request, refusal=LockNotHeld)
    carry_out(memo, decision, request, register=register, end=Hold.End.UNLOCKED)
    return memo


@transaction.atomic
def credit_memo_redeem(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[CreditMemo, CreditMemo | None]:
    """Apply ``amount`` (at most the memo's amount), close the memo, and issue the remainder
    under the reserved number. A replay by the same register+transaction changes nothing."""
    check_transaction_id(transaction_id)
    memo = credit_memo_for_update(number, actor.register)
    request = request_for(actor, transaction_id, check_amount(amount, currency), currency)
    decision = decide(memo, rules.decide_redeem, request, _booked(memo, actor, transaction_id))
    if decision.replay:
        return memo, CreditMemo.objects.filter(remainder_of=memo).first()
    remainder = _apply(memo, request.amount, actor, transaction_id)
    carry_out(memo, replace(decision, change=Decimal(0)), request, register=actor.register, also=APPLY_FIELDS)
    return memo, remainder


APPLY_FIELDS = ("applied_amount", "balance", "status")


def _booked(memo: CreditMemo, actor: Actor, transaction_id: str) -> Decimal | None:
    """What this register+transaction redeemed of the memo, if it did (the replay)."""
    previous = memo.entries.filter(operation=Operation.REDEEM).first()
    if previous is None or previous.register_id != actor.register_id or previous.transaction_id != transaction_id:
        return None
    return -previous.amount


def _apply(memo: CreditMemo, amount: Decimal, actor: Actor, transaction_id: str) -> CreditMemo | None:
    """Book ``amount`` applied and move the rest to a remainder memo under the reserved number."""
    rest = rules.memo_split(memo.balance, amount)
    remainder_number = memo.lock_remainder_number or credit_memo_number_generate()
    memo.applied_amount, memo.balance, memo.status = amount, rest, CreditMemo.Status.APPLIED
    book(memo, Operation.REDEEM, -amount, actor, transaction_id)
    if rest == 0:
        return None
    memo.balance = Decimal(0)
    book(memo, Operation.REMAINDER_OUT, -rest, actor, transaction_id, note=remainder_number)
    remainder = _create(
        number=remainder_number,
        legal_entity=memo.legal_entity,
        currency=memo.currency,
        amount=rest,
        channel=actor.channel,
        remainder_of=memo,
    )
    book(remainder, Operation.ISSUE, rest, actor, transaction_id, note=f"remainder of {memo.number}")
    return remainder


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
    request = request_for(Actor(), "")
    decision = decide(memo, rules.decide_void, request)
    memo.status = CreditMemo.Status.VOIDED
    carry_out(memo, decision, request, register=None, also=("status",))
    audit(memo, AuditEvent.Action.VOIDED, user=user, reason=reason)
    book(memo, Operation.VOID, decision.change, Actor.back_office(user), "", note=reason)
    return memo
