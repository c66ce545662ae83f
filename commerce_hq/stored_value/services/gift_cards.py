"""Gift card services: every gift card balance or lock change goes through here. The rules
themselves are in ``rules``; these load the card under a row lock, ask the rule, write."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from commerce_hq.channels.models import Channel, Register
from commerce_hq.parameters.models import CommerceParameters
from commerce_hq.parameters.services import parameters_get_by_entity_id

from .. import rules
from ..errors import CardExists, CardInactive, InsufficientBalance, LockNotHeld
from ..locks import gift_card_for_update, normalize_number
from ..models import AuditEvent, GiftCard, Hold, LedgerEntry
from . import fast_paths
from .common import Actor, check_amount, check_transaction_id, gift_card_number_generate, request_for, require_reason
from .locking import carry_out, decide, release_lock
from .records import audit, book

Operation = LedgerEntry.Operation


def _params(card_or_channel) -> CommerceParameters:
    return parameters_get_by_entity_id(legal_entity_id=card_or_channel.legal_entity_id)


@transaction.atomic
def gift_card_issue(
    *,
    channel: Channel,
    actor: Actor,
    transaction_id: str,
    amount: Decimal,
    currency: str,
    number: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[GiftCard, LedgerEntry]:
    """Issue a card (a scanned ``number`` or a generated one) holding ``amount``."""
    check_transaction_id(transaction_id)
    amount = check_amount(amount, currency)
    rules.require_currency(channel, currency)
    rules.decide_issue(amount, _params(channel).gift_card_max_balance)
    number = normalize_number(number) if number is not None else gift_card_number_generate()
    try:
        with transaction.atomic():  # the unique number decides, also between registers racing
            card = GiftCard.objects.create(
                number=number,
                legal_entity=channel.legal_entity,
                currency=currency,
                balance=amount,
                issued_channel=channel,
                expires_at=expires_at,
            )
    except IntegrityError:
        raise CardExists(f"Gift card {rules.mask(number)} already exists.") from None
    return card, book(card, Operation.ISSUE, amount, actor, transaction_id)


def gift_card_lock(*, number: str, register: Register, transaction_id: str, device_id: int | None = None) -> GiftCard:
    """Lock the card for (register, transaction), on record as a hold. Idempotent for the owner."""
    check_transaction_id(transaction_id)
    fast = fast_paths.gift_card_lock_free(
        number=number, register=register, transaction_id=transaction_id, device_id=device_id
    )
    return fast or _lock(number, Actor.pos(register, device_id=device_id), transaction_id)


@transaction.atomic
def _lock(number: str, actor: Actor, transaction_id: str) -> GiftCard:
    card = gift_card_for_update(number, actor.register)
    request = request_for(actor, transaction_id)
    decision = decide(card, rules.decide_lock, request)
    timeout = _params(card).gift_card_lock_timeout_minutes
    carry_out(card, decision, request, register=actor.register, timeout=timeout, device_id=actor.device_id)
    return card


@transaction.atomic
def gift_card_unlock(*, number: str, register: Register, transaction_id: str) -> GiftCard:
    """Void the line: drop the lock if this register+transaction holds it. Unlocked already → no change."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, register)
    request = request_for(Actor.pos(register), transaction_id)
    decision = decide(card, rules.decide_unlock, request, refusal=LockNotHeld)
    carry_out(card, decision, request, register=register, end=Hold.End.UNLOCKED)
    return card


def _booked(card: GiftCard, actor: Actor, transaction_id: str, operation: str) -> LedgerEntry | None:
    """What this register+transaction already booked of ``operation`` on the card (its replay)."""
    return LedgerEntry.objects.filter(
        gift_card=card, register=actor.register, transaction_id=transaction_id, operation=operation
    ).first()


def gift_card_redeem(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[GiftCard, LedgerEntry]:
    """Debit ``amount`` and unlock. On an unlocked card: lock, debit and unlock in one step.
    A replay by the same register+transaction returns the first entry and changes nothing."""
    check_transaction_id(transaction_id)
    move = {"number": number, "actor": actor, "transaction_id": transaction_id, "amount": amount, "currency": currency}
    return fast_paths.gift_card_redeem_held(**move) or _redeem(**move)


@transaction.atomic
def _redeem(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[GiftCard, LedgerEntry]:
    card = gift_card_for_update(number, actor.register)
    request = request_for(actor, transaction_id, check_amount(amount, currency), currency)
    previous = _booked(card, actor, transaction_id, Operation.REDEEM)
    booked = None if previous is None else -previous.amount
    decision = decide(card, rules.decide_redeem, request, booked)
    carry_out(card, decision, request, register=actor.register)
    if decision.replay:
        return card, previous
    return card, book(card, Operation.REDEEM, decision.change, actor, transaction_id)


@transaction.atomic
def gift_card_add_value(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[GiftCard, LedgerEntry]:
    """Top up the card (over ``gift_card.max_balance`` is refused). Keeps the caller's own lock."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, actor.register)
    request = request_for(actor, transaction_id, check_amount(amount, currency), currency)
    decision = decide(card, rules.decide_add_value, request, _params(card).gift_card_max_balance)
    carry_out(card, decision, request, register=actor.register)
    return card, book(card, Operation.ADD_VALUE, decision.change, actor, transaction_id)


@transaction.atomic
def gift_card_cash_out(*, number: str, actor: Actor, transaction_id: str) -> tuple[GiftCard, LedgerEntry]:
    """Pay out the whole balance, allowed only at or below the channel's cash-out threshold."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, actor.register)
    request = request_for(actor, transaction_id)
    previous = _booked(card, actor, transaction_id, Operation.CASH_OUT)
    booked = None if previous is None else -previous.amount
    decision = decide(card, rules.decide_cash_out, request, booked, actor.channel.cash_out_threshold)
    carry_out(card, decision, request, register=actor.register)
    if decision.replay:
        return card, previous
    return card, book(card, Operation.CASH_OUT, decision.change, actor, transaction_id)


@transaction.atomic
def gift_card_adjust(*, number: str, amount: Decimal, user, reason: str) -> tuple[GiftCard, LedgerEntry]:
    """A back-office correction: a signed ``amount`` booked as an adjustment entry, with a reason."""
    reason = require_reason(reason)
    card = gift_card_for_update(number)
    check_amount(abs(amount), card.currency)
    if card.balance + amount < 0:
        raise InsufficientBalance("An adjustment cannot take the balance below zero.", balance=card.balance)
    card.balance += amount
    card.save(update_fields=["balance"])
    return card, book(card, Operation.ADJUSTMENT, amount, Actor.back_office(user), "", note=reason)


@transaction.atomic
def gift_card_release_lock(
    *, number: str, user, reason: str, expected_owner: tuple[int | None, str] | None = None
) -> GiftCard:
    """Admin release of a stuck lock; the reason and the former owner are audited."""
    reason = require_reason(reason)
    card = gift_card_for_update(number)
    release_lock(card, user=user, reason=reason, expected_owner=expected_owner)
    return card


@transaction.atomic
def gift_card_set_blocked(*, number: str, blocked: bool, user=None, reason: str = "") -> GiftCard:
    """Block (or unblock) a card; a blocked card answers ``card_inactive``. Closed cards stay closed."""
    card = gift_card_for_update(normalize_number(number))
    target = GiftCard.Status.BLOCKED if blocked else GiftCard.Status.ACTIVE
    if card.status == GiftCard.Status.CLOSED:
        raise CardInactive(f"Gift card {rules.mask(card.number)} is closed.", card_status="closed")
    if card.status != target:
        card.status = target
        card.save(update_fields=["status"])
        audit(card, AuditEvent.Action.BLOCKED if blocked else AuditEvent.Action.UNBLOCKED, user=user, reason=reason)
    return card
