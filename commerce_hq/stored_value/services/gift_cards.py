"""Gift card services: every gift card balance or lock change goes through here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from commerce_hq.channels.models import Channel, Register
from commerce_hq.parameters.models import CommerceParameters
from commerce_hq.parameters.services import parameters_get_by_entity_id

from ..errors import (
    AlreadyRedeemed,
    BalanceLimitExceeded,
    CardExists,
    CardInactive,
    CardLocked,
    CashOutNotAllowed,
    InsufficientBalance,
    LockNotHeld,
)
from ..locks import gift_card_for_update, mask, normalize_number
from ..models import AuditEvent, GiftCard, LedgerEntry
from . import fast_paths
from .common import (
    Actor,
    check_amount,
    check_currency,
    check_transaction_id,
    clear_lock,
    is_expired,
    luhn_check_digit,
    random_digits,
    refuse_if_locked_by_other,
    release_lock,
    require_reason,
    save_lock,
    set_lock,
)


def gift_card_number_generate() -> str:
    """16 random digits, the last a Luhn check digit; unguessable and unused."""
    while True:
        body = random_digits(15)
        number = body + luhn_check_digit(body)
        if not GiftCard.objects.filter(number=number).exists():
            return number


def _params(card_or_channel) -> CommerceParameters:
    return parameters_get_by_entity_id(legal_entity_id=card_or_channel.legal_entity_id)


def _require_active(card: GiftCard) -> None:
    if card.status != GiftCard.Status.ACTIVE or is_expired(card.expires_at):
        state = "expired" if card.status == GiftCard.Status.ACTIVE else card.status
        raise CardInactive(f"Gift card {mask(card.number)} is {state}.", card_status=state)


# The most a balance column (numeric(19, 6)) can store: the limit when the parameter sets none.
STORABLE_BALANCE = Decimal("9999999999999.999999")


def _refuse_over_limit(card_balance: Decimal, params: CommerceParameters) -> None:
    limit = params.gift_card_max_balance
    if limit is None or limit > STORABLE_BALANCE:
        limit = STORABLE_BALANCE
    if card_balance > limit:
        raise BalanceLimitExceeded(f"A gift card may hold at most {limit.normalize():f}.", max_balance=limit)


def _book(card: GiftCard, operation: str, amount: Decimal, actor: Actor, transaction_id: str, **extra) -> LedgerEntry:
    return LedgerEntry.objects.create(
        gift_card=card,
        operation=operation,
        amount=amount,
        balance_after=card.balance,
        currency=card.currency,
        **actor.entry_fields(transaction_id),
        **extra,
    )


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
    check_currency(channel.currency, currency)
    _refuse_over_limit(amount, _params(channel))
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
        raise CardExists(f"Gift card {mask(number)} already exists.") from None
    return card, _book(card, LedgerEntry.Operation.ISSUE, amount, actor, transaction_id)


def gift_card_lock(*, number: str, register: Register, transaction_id: str) -> GiftCard:
    """Lock the card for (register, transaction). Idempotent for the owner."""
    check_transaction_id(transaction_id)
    card = fast_paths.gift_card_lock_free(number=number, register=register, transaction_id=transaction_id)
    return card or _lock(number, register, transaction_id)


@transaction.atomic
def _lock(number: str, register: Register, transaction_id: str) -> GiftCard:
    card = gift_card_for_update(number, register)
    if refuse_if_locked_by_other(card, register, transaction_id, CardLocked, "The gift card"):
        return card
    _require_active(card)
    set_lock(card, register, transaction_id, _params(card).gift_card_lock_timeout_minutes)
    save_lock(card)
    return card


@transaction.atomic
def gift_card_unlock(*, number: str, register: Register, transaction_id: str) -> GiftCard:
    """Void the line: drop the lock if this register+transaction holds it. Unlocked already → no change."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, register)
    if refuse_if_locked_by_other(card, register, transaction_id, LockNotHeld, "The gift card"):
        clear_lock(card)
        save_lock(card)
    return card


def _previous_debit(card: GiftCard, register: Register, transaction_id: str, operation: str) -> LedgerEntry | None:
    return LedgerEntry.objects.filter(
        gift_card=card, register=register, transaction_id=transaction_id, operation=operation
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
    amount = check_amount(amount, currency)
    check_currency(card.currency, currency)
    mine = refuse_if_locked_by_other(card, actor.register, transaction_id, CardLocked, "The gift card")
    previous = _previous_debit(card, actor.register, transaction_id, LedgerEntry.Operation.REDEEM)
    if previous is not None:
        return card, _replay_debit(card, _replayed(previous, -amount), mine=mine)
    _require_active(card)
    if amount > card.balance:
        raise InsufficientBalance(
            f"The gift card holds {card.balance.normalize():f} {card.currency}.", balance=card.balance
        )
    card.balance -= amount
    clear_lock(card)
    save_lock(card, "balance")
    return card, _book(card, LedgerEntry.Operation.REDEEM, -amount, actor, transaction_id)


def _replay_debit(card: GiftCard, previous: LedgerEntry, *, mine: bool) -> LedgerEntry:
    """A debit this register+transaction already booked: nothing is debited again. A lock the
    same transaction took again since ends as the first debit ended it."""
    if mine:
        clear_lock(card)
        save_lock(card)
    return previous


def _replayed(previous: LedgerEntry, amount: Decimal) -> LedgerEntry:
    if previous.amount != amount:
        raise AlreadyRedeemed(
            "This transaction already redeemed this card for another amount.", amount=-previous.amount
        )
    return previous


@transaction.atomic
def gift_card_add_value(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[GiftCard, LedgerEntry]:
    """Top up the card (over ``gift_card.max_balance`` is refused). Keeps the caller's own lock."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, actor.register)
    amount = check_amount(amount, currency)
    check_currency(card.currency, currency)
    refuse_if_locked_by_other(card, actor.register, transaction_id, CardLocked, "The gift card")
    _require_active(card)
    _refuse_over_limit(card.balance + amount, _params(card))
    card.balance += amount
    save_lock(card, "balance")
    return card, _book(card, LedgerEntry.Operation.ADD_VALUE, amount, actor, transaction_id)


@transaction.atomic
def gift_card_cash_out(*, number: str, actor: Actor, transaction_id: str) -> tuple[GiftCard, LedgerEntry]:
    """Pay out the whole balance, allowed only at or below the channel's cash-out threshold."""
    check_transaction_id(transaction_id)
    card = gift_card_for_update(number, actor.register)
    mine = refuse_if_locked_by_other(card, actor.register, transaction_id, CardLocked, "The gift card")
    previous = _previous_debit(card, actor.register, transaction_id, LedgerEntry.Operation.CASH_OUT)
    if previous is not None:
        return card, _replay_debit(card, previous, mine=mine)
    _require_active(card)
    threshold = actor.channel.cash_out_threshold
    if card.balance == 0 or card.balance > threshold:
        raise CashOutNotAllowed(
            f"Cash-out needs a balance above 0 and at most {threshold.normalize():f} {card.currency}.",
            threshold=threshold,
        )
    amount = card.balance
    card.balance = Decimal(0)
    clear_lock(card)
    save_lock(card, "balance")
    return card, _book(card, LedgerEntry.Operation.CASH_OUT, -amount, actor, transaction_id)


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
    actor = Actor(user=user, origin="back_office")
    return card, _book(card, LedgerEntry.Operation.ADJUSTMENT, amount, actor, "", note=reason)


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
        raise CardInactive(f"Gift card {mask(card.number)} is closed.", card_status="closed")
    if card.status != target:
        card.status = target
        card.save(update_fields=["status"])
        action = AuditEvent.Action.BLOCKED if blocked else AuditEvent.Action.UNBLOCKED
        AuditEvent.objects.create(gift_card=card, action=action, user=user, reason=reason[:300])
    return card
