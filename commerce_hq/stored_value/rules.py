"""The money rules of gift cards and credit memos, each written once.

Pure decisions, no I/O: they read a snapshot of a card or memo (any object with the card's
attributes — a model instance, a row the PostgreSQL fast path returned, the test fake's dict
wrapped in a dataclass), the hold it was locked under, the parameters in effect and the request,
and they return what to do or raise the refusal. The online services, the offline batch and the
fast path's differential test all go through here:

- currency: the card's currency or nothing;
- state: a gift card is usable when active and not expired, a memo when open;
- lock ownership: free, mine, someone else's that expired (taken over), someone else's;
- balance: never below zero; a credit memo is single use, its rest moves to a remainder memo;
- limits: a gift card's maximum balance, the cash-out threshold;
- offline: what a conclusion may book against the lock the register held online (holds).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from .errors import (
    AlreadyRedeemed,
    AmountExceedsMemo,
    BalanceLimitExceeded,
    CardInactive,
    CashOutNotAllowed,
    CurrencyMismatch,
    InsufficientBalance,
    MemoNotOpen,
)

# The most a balance column (numeric(19, 6)) can store: the limit when the parameter sets none.
STORABLE_BALANCE = Decimal("9999999999999.999999")
# Clock skew tolerated between a register's clock and HQ's when judging ``concluded_at``.
CLOCK_SKEW = timedelta(minutes=5)
REGISTER_WINDOW = timedelta(hours=24)


class Kind(enum.StrEnum):
    GIFT_CARD = "gift_card"
    CREDIT_MEMO = "credit_memo"

    @property
    def label(self) -> str:
        return self.replace("_", " ")


class GiftCardStatus(enum.StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    CLOSED = "closed"


class MemoStatus(enum.StrEnum):
    OPEN = "open"
    APPLIED = "applied"
    VOIDED = "voided"


class Account(Protocol):
    """What the rules read of a card or memo."""

    kind: Kind
    number: str
    currency: str
    balance: Decimal
    status: str
    lock_register_id: int | None
    lock_transaction_id: str
    lock_expires_at: datetime | None


class Standing(enum.Enum):
    """Where a lock leaves the caller."""

    FREE = "free"
    MINE = "mine"
    EXPIRED = "expired"  # someone else's lock past its timeout: dropped, then free
    OTHER = "other"


class LockedElsewhere(Exception):
    """Another register or transaction holds the lock; the service names the owner."""


def mask(number: str) -> str:
    """``6012345678901234`` → ``…1234``: numbers are bearer instruments, never shown whole in messages."""
    return "…" + number[-4:]


def amount_text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


# -- single rules ----------------------------------------------------------------------------


def require_currency(account: Account, currency: str) -> None:
    if currency != account.currency:
        raise CurrencyMismatch(
            f"This is a {account.currency} account; {currency} was given.", expected=account.currency
        )


def inactive_state(account: Account, now: datetime) -> str | None:
    """Why the card or memo cannot be used now (``blocked``, ``expired``, ``applied`` …), or None."""
    if account.kind == Kind.CREDIT_MEMO:
        return None if account.status == MemoStatus.OPEN else account.status
    if account.status != GiftCardStatus.ACTIVE:
        return account.status
    expires_at = getattr(account, "expires_at", None)
    return "expired" if expires_at is not None and expires_at <= now else None


def require_usable(account: Account, now: datetime) -> None:
    state = inactive_state(account, now)
    if state is None:
        return
    if account.kind == Kind.CREDIT_MEMO:
        raise MemoNotOpen(f"Credit memo {mask(account.number)} is {state}.", memo_status=state)
    raise CardInactive(f"Gift card {mask(account.number)} is {state}.", card_status=state)


def held_by(account: Account, register_id: int | None, transaction_id: str) -> bool:
    return (
        register_id is not None
        and account.lock_register_id == register_id
        and account.lock_transaction_id == transaction_id
    )


def lock_standing(account: Account, register_id: int | None, transaction_id: str, now: datetime) -> Standing:
    if account.lock_register_id is None:
        return Standing.FREE
    if held_by(account, register_id, transaction_id):
        return Standing.MINE
    if account.lock_expires_at is not None and account.lock_expires_at <= now:
        return Standing.EXPIRED
    return Standing.OTHER


def claim(account: Account, register_id: int | None, transaction_id: str, now: datetime) -> Standing:
    """The caller's standing, refusing (``LockedElsewhere``) when another holds the lock."""
    standing = lock_standing(account, register_id, transaction_id, now)
    if standing is Standing.OTHER:
        raise LockedElsewhere
    return standing


def lock_expiry(now: datetime, timeout_minutes: int | None) -> datetime | None:
    """When a lock taken ``now`` ends by itself; a timeout of 0 or None means never."""
    return now + timedelta(minutes=timeout_minutes) if timeout_minutes else None


def balance_limit(max_balance: Decimal | None) -> Decimal:
    return STORABLE_BALANCE if max_balance is None or max_balance > STORABLE_BALANCE else max_balance


def require_within_limit(new_balance: Decimal, max_balance: Decimal | None) -> None:
    limit = balance_limit(max_balance)
    if new_balance > limit:
        raise BalanceLimitExceeded(f"A gift card may hold at most {amount_text(limit)}.", max_balance=limit)


def require_covered(account: Account, amount: Decimal) -> None:
    if amount <= account.balance:
        return
    if account.kind == Kind.CREDIT_MEMO:
        memo_amount = getattr(account, "amount", account.balance)
        raise AmountExceedsMemo(
            f"The credit memo is for {amount_text(memo_amount)} {account.currency}.", memo_amount=memo_amount
        )
    raise InsufficientBalance(
        f"The gift card holds {amount_text(account.balance)} {account.currency}.", balance=account.balance
    )


def require_cash_out_allowed(account: Account, threshold: Decimal) -> None:
    if account.balance == 0 or account.balance > threshold:
        raise CashOutNotAllowed(
            f"Cash-out needs a balance above 0 and at most {amount_text(threshold)} {account.currency}.",
            threshold=threshold,
        )


def require_same_replay(kind: Kind, booked: Decimal, amount: Decimal) -> None:
    """A transaction replaying a debit it already booked must name the same amount."""
    if booked != amount:
        raise AlreadyRedeemed(f"This transaction already redeemed this {kind.label} for another amount.", amount=booked)


def memo_split(balance: Decimal, applied: Decimal) -> Decimal:
    """What remains of a single-use memo after ``applied``: it moves to a remainder memo."""
    return balance - applied


# -- online decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One POS call on a card or memo."""

    register_id: int | None
    transaction_id: str
    now: datetime
    amount: Decimal = Decimal(0)
    currency: str = ""


@dataclass(frozen=True)
class Decision:
    """What an online call does: a signed balance change, and the lock afterwards."""

    standing: Standing
    change: Decimal = Decimal(0)
    take_lock: bool = False
    clear_lock: bool = False
    replay: bool = False  # already booked by this register+transaction: nothing moves


def decide_lock(account: Account, request: Request) -> Decision:
    standing = claim(account, request.register_id, request.transaction_id, request.now)
    if standing is Standing.MINE:
        return Decision(standing)
    require_usable(account, request.now)
    return Decision(standing, take_lock=True)


def decide_unlock(account: Account, request: Request) -> Decision:
    standing = claim(account, request.register_id, request.transaction_id, request.now)
    return Decision(standing, clear_lock=standing is Standing.MINE)


def decide_redeem(account: Account, request: Request, booked: Decimal | None) -> Decision:
    """Debit and unlock (lock, debit and unlock in one step when free). ``booked``: what this
    register+transaction already redeemed of it, if anything (the replay)."""
    require_currency(account, request.currency)
    standing = claim(account, request.register_id, request.transaction_id, request.now)
    if booked is not None:
        require_same_replay(account.kind, booked, request.amount)
        return Decision(standing, clear_lock=standing is Standing.MINE, replay=True)
    require_usable(account, request.now)
    require_covered(account, request.amount)
    return Decision(standing, change=-request.amount, clear_lock=True)


def decide_add_value(account: Account, request: Request, max_balance: Decimal | None) -> Decision:
    """Top up; keeps the caller's own lock."""
    require_currency(account, request.currency)
    standing = claim(account, request.register_id, request.transaction_id, request.now)
    require_usable(account, request.now)
    require_within_limit(account.balance + request.amount, max_balance)
    return Decision(standing, change=request.amount)


def decide_cash_out(account: Account, request: Request, booked: Decimal | None, threshold: Decimal) -> Decision:
    standing = claim(account, request.register_id, request.transaction_id, request.now)
    if booked is not None:
        return Decision(standing, clear_lock=standing is Standing.MINE, replay=True)
    require_usable(account, request.now)
    require_cash_out_allowed(account, threshold)
    return Decision(standing, change=-account.balance, clear_lock=True)


def decide_void(account: Account, request: Request) -> Decision:
    """A back-office void of an open memo nobody holds: its whole value leaves the books."""
    standing = claim(account, None, "", request.now)
    require_usable(account, request.now)
    return Decision(standing, change=-account.balance)


def decide_issue(amount: Decimal, max_balance: Decimal | None) -> None:
    require_within_limit(amount, max_balance)


# -- offline decisions -----------------------------------------------------------------------


@dataclass(frozen=True)
class HoldView:
    """The lock a register+transaction took online, as HQ recorded it."""

    taken_at: datetime
    balance_shown: Decimal
    ended_at: datetime | None = None
    end: str = ""  # "", or how it ended: redeemed, unlocked, expired, released, concluded_offline


@dataclass(frozen=True)
class OfflinePolicy:
    """The parameters in effect for one kind at the channel at ``concluded_at`` (or at receipt,
    when ``concluded_at`` is implausible)."""

    version: int
    allowed: bool
    limit: Decimal | None = None
    register_limit: Decimal | None = None
    max_hours: int | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    detail: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class OfflineRedeem:
    """One offline redemption as the register concluded it."""

    amount: Decimal
    currency: str
    concluded_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class OfflineDecision:
    book: bool  # False: nothing booked at all
    debit: Decimal = Decimal(0)
    shortfall: Decimal = Decimal(0)
    clear_lock: bool = False  # the register+transaction still holds the lock: it ends here
    findings: tuple[Finding, ...] = ()


def plausible(redeem: OfflineRedeem, hold: HoldView) -> bool:
    """``concluded_at`` after the lock was taken and before the upload arrived (clock skew allowed)."""
    return hold.taken_at - CLOCK_SKEW <= redeem.concluded_at <= redeem.received_at + CLOCK_SKEW


def decide_offline_redeem(
    account: Account | None,
    kind: Kind,
    number: str,
    redeem: OfflineRedeem,
    hold: HoldView | None,
    *,
    holds_now: bool,
    moved_since_end: bool,
) -> OfflineDecision:
    """Book an offline conclusion only against the lock this register+transaction took online,
    for at most what that lock showed and what is left; the rest is shortfall. ``holds_now``: the
    lock is still this register+transaction's; ``moved_since_end``: the card moved after the
    hold ended (an expired lock on a card nobody touched since is not lost)."""
    if account is None:
        code = "unknown_card" if kind == Kind.GIFT_CARD else "unknown_memo"
        return OfflineDecision(False, findings=(Finding(code, f"No {kind.label} {mask(number)}; nothing booked."),))
    what = f"the {kind.label} {mask(account.number)}"
    if redeem.currency != account.currency:
        detail = f"The {kind.label} {mask(account.number)} is in {account.currency}, the sale in {redeem.currency}"
        return OfflineDecision(False, findings=(Finding("currency_mismatch", detail + "; nothing booked."),))
    if hold is None:
        detail = f"This register and transaction never locked {what} online; nothing booked. Review it."
        return OfflineDecision(False, findings=(Finding("not_locked_online", detail, redeem.amount),))
    taken_over = account.lock_register_id is not None and not holds_now
    findings = [*_lock_findings(what, hold, holds_now, taken_over, moved_since_end), *_state_findings(account, redeem)]
    available = _available(account)
    debit = min(redeem.amount, available, hold.balance_shown)
    shortfall = redeem.amount - debit
    if shortfall > 0:
        findings.append(_overspend(what, account, redeem.amount, debit, hold.balance_shown))
    return OfflineDecision(True, debit, shortfall, clear_lock=holds_now, findings=tuple(findings))


def _available(account: Account) -> Decimal:
    if account.kind == Kind.CREDIT_MEMO and account.status != MemoStatus.OPEN:
        return Decimal(0)
    return account.balance


def _lock_findings(what: str, hold: HoldView, holds_now: bool, taken_over: bool, moved: bool) -> list[Finding]:
    """Nothing when the lock is still held, or merely expired on a card nobody touched since."""
    if holds_now or (hold.end == "expired" and not taken_over and not moved):
        return []
    if taken_over:
        return [Finding("lock_lost", f"Booked anyway: {what} is locked by another register or transaction now.")]
    how = {
        "expired": "expired and it moved since",
        "released": "released by an admin",
        "": "taken over by another register or transaction",
    }.get(hold.end, f"ended ({hold.end})")
    return [Finding("lock_lost", f"Booked anyway: the lock on {what} was {how}.")]


def _state_findings(account: Account, redeem: OfflineRedeem) -> list[Finding]:
    if account.kind == Kind.CREDIT_MEMO:
        return []
    state = inactive_state(account, redeem.concluded_at)
    if state is None:
        return []
    return [Finding("card_inactive", f"The gift card {mask(account.number)} is {state}; booked anyway.")]


def _overspend(what: str, account: Account, amount: Decimal, debit: Decimal, shown: Decimal) -> Finding:
    short = amount - debit
    detail = (
        f"{what[0].upper()}{what[1:]} covered {amount_text(debit)} of {amount_text(amount)} {account.currency} "
        f"(the lock showed {amount_text(shown)}); {amount_text(short)} booked to the shortfall account."
    )
    return Finding("offline_overspend", detail, short)


def offline_redemption_findings(
    kind: Kind,
    policy: OfflinePolicy,
    *,
    total: Decimal,
    register_total: Decimal,
    longest_since_lock: timedelta | None,
) -> list[Finding]:
    """What the parameters in effect say of one transaction's offline redemptions of ``kind``:
    ``total`` in this transaction, ``register_total`` by the register in the 24 hours up to its
    ``concluded_at`` (this one included), ``longest_since_lock`` from a lock to the conclusion."""
    found = []
    version = f"parameter version {policy.version}"
    if not policy.allowed:
        detail = f"{version.capitalize()} at the channel did not allow concluding {kind.label}s offline. Booked anyway."
        found.append(Finding("offline_not_allowed", detail))
    if policy.limit is not None and total > policy.limit:
        detail = (
            f"Offline {kind.label} redemptions of {amount_text(total)} exceed the offline limit "
            f"{amount_text(policy.limit)} of {version}. Booked anyway."
        )
        found.append(Finding("offline_limit_exceeded", detail))
    if policy.register_limit is not None and register_total > policy.register_limit:
        detail = (
            f"The register's offline {kind.label} redemptions within 24 hours reach {amount_text(register_total)}, "
            f"over the register limit {amount_text(policy.register_limit)} of {version}. Booked anyway."
        )
        found.append(Finding("offline_register_limit_exceeded", detail))
    window = None if policy.max_hours is None else timedelta(hours=policy.max_hours)
    if window is not None and longest_since_lock is not None and longest_since_lock > window:
        hours = longest_since_lock.total_seconds() / 3600
        detail = (
            f"Concluded {hours:.1f} hours after the {kind.label} was locked; {version} allows "
            f"{policy.max_hours}. Booked anyway."
        )
        found.append(Finding("offline_window_exceeded", detail))
    return found


def implausible_finding(concluded_at: datetime, received_at: datetime) -> Finding:
    detail = (
        f"Concluded at {concluded_at:%Y-%m-%d %H:%M:%S} UTC: before its lock was taken or after the upload "
        f"arrived ({received_at:%Y-%m-%d %H:%M:%S} UTC); judged by the parameters in effect when it arrived."
    )
    return Finding("implausible_concluded_at", detail)
