"""Applying offline conclusions: the stored-value side of the upload job (P-0001).

A register that lost its connection concluded the sale locally. HQ books it only against the
lock that register and transaction took online (its hold), for at most the balance that lock
showed; what the card or memo no longer covers goes to the shortfall account. The rules are in
``rules`` (``decide_offline_redeem``, ``offline_redemption_findings``); this module runs them
over a chunk in three steps:

- load: one snapshot of every card, memo, hold and earlier booking the chunk touches
  (``snapshot.load``), each card and memo row-locked once, in primary-key order;
- decide: each conclusion in ``concluded_at`` order, against the snapshot as earlier
  conclusions of the chunk left it;
- write: bulk statements, one per table, inside the caller's transaction.

What a person should review comes back as issues (the upload job turns them into sync
exceptions): ``not_locked_online`` (nothing booked), ``lock_lost``, ``offline_overspend``,
``card_inactive``, ``unknown_card`` / ``unknown_memo``, ``currency_mismatch``,
``already_redeemed``, ``remainder_renumbered``, and the parameter findings
``offline_not_allowed``, ``offline_limit_exceeded``, ``offline_register_limit_exceeded``,
``offline_window_exceeded``, ``implausible_concluded_at``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ... import rules
from ...models import CreditMemo, GiftCard, Hold, LedgerEntry, LockFields, Origin, ShortfallEntry
from ...rules import Finding, HoldView, Kind, OfflineRedeem
from ..common import Actor, credit_memo_number_generate
from ..locking import clear_lock
from ..records import account_field, ledger_values
from .bulk import bulk_insert, bulk_set
from .snapshot import OwnerKey, Snapshot, load
from .types import CREDIT_MEMO, GIFT_CARD, Issue, OfflineConclusion, OfflineOperation

LOCK_COLUMNS = ["lock_register", "lock_transaction_id", "locked_at", "lock_expires_at"]
COLUMNS = {
    GIFT_CARD: ["balance", *LOCK_COLUMNS],
    CREDIT_MEMO: ["balance", "applied_amount", "status", *LOCK_COLUMNS, "lock_remainder_number"],
}
HOLD_COLUMNS = ["end", "ended_at", "concluded_at", "concluded_amount"]

__all__ = [
    "CREDIT_MEMO",
    "GIFT_CARD",
    "Issue",
    "OfflineConclusion",
    "OfflineOperation",
    "bulk_insert",
    "offline_conclusions_apply",
]


@transaction.atomic
def offline_conclusions_apply(*, conclusions: list[OfflineConclusion]) -> dict[int, list[Issue]]:
    """Book ``conclusions`` in the given order; returns the issues of each, by ``key``."""
    batch = _Batch(load(conclusions))
    issues = {conclusion.key: batch.conclude(conclusion) for conclusion in conclusions}
    batch.write()
    return issues


def _issue(finding: Finding, obj: LockFields | None = None) -> Issue:
    ids = {f"{account_field(obj)}_id": obj.pk} if obj is not None else {}
    return Issue(code=finding.code, detail=finding.detail[:500], amount=finding.amount, **ids)


class _Batch:
    """The decide step: the snapshot changes in memory, the writes pile up for ``write``."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.moved_now: set[tuple[Kind, int]] = set()
        self.entries: list[tuple[LockFields, dict]] = []
        self.shortfalls: list[ShortfallEntry] = []
        self.new_memos: list[CreditMemo] = []
        self.dirty: dict[Kind, dict[int, LockFields]] = {GIFT_CARD: {}, CREDIT_MEMO: {}}
        self.ended_holds: dict[int, Hold] = {}
        self.now = timezone.now()

    def conclude(self, conclusion: OfflineConclusion) -> list[Issue]:
        found: list[Issue] = []
        totals = {GIFT_CARD: Decimal(0), CREDIT_MEMO: Decimal(0)}
        since_lock: dict[Kind, timedelta] = {}
        plausible = conclusion.concluded_at <= conclusion.received_at + rules.CLOCK_SKEW
        for op in conclusion.operations:
            obj = self.snapshot.account(op.kind, op.number, conclusion.register.channel.legal_entity_id)
            if not op.is_redeem:
                self._unlock(op.kind, obj, conclusion)
                continue
            hold = self._hold(op.kind, obj, conclusion)
            plausible = plausible and (hold is None or rules.plausible(_redeem(op, conclusion), hold))
            if self._redeem(op, obj, hold, conclusion, found):
                totals[op.kind] += op.amount
                since_lock[op.kind] = max(
                    since_lock.get(op.kind, timedelta(0)), conclusion.concluded_at - hold.taken_at
                )
        return found + self._policy_issues(conclusion, totals, since_lock, plausible)

    # -- one operation -------------------------------------------------------------------------

    def _key(self, kind: Kind, obj: LockFields, conclusion: OfflineConclusion) -> OwnerKey:
        return (kind, obj.pk, conclusion.register.pk, conclusion.transaction_id)

    def _hold(self, kind: Kind, obj: LockFields | None, conclusion: OfflineConclusion) -> HoldView | None:
        if obj is None:
            return None
        held = self.snapshot.holds.get(self._key(kind, obj, conclusion))
        return None if held is None else held[1]

    def _redeem(self, op, obj, hold: HoldView | None, conclusion: OfflineConclusion, found: list[Issue]) -> bool:
        """Decide and book one redemption; True when it counts as concluded offline."""
        if obj is not None and self._key(op.kind, obj, conclusion) in self.snapshot.booked:
            found.extend(self._already_booked(op, obj, conclusion))
            self._unlock(op.kind, obj, conclusion)
            return False
        holds_now = obj is not None and rules.held_by(obj, conclusion.register.pk, conclusion.transaction_id)
        decision = rules.decide_offline_redeem(
            obj,
            op.kind,
            op.number,
            _redeem(op, conclusion),
            hold,
            holds_now=holds_now,
            moved_since_end=obj is not None and self._moved_since(op.kind, obj, hold),
        )
        found.extend(_issue(finding, obj) for finding in decision.findings)
        if not decision.book:
            return False
        self._book(op, obj, decision, conclusion, found)
        return True

    def _book(self, op, obj: LockFields, decision: rules.OfflineDecision, conclusion, found: list[Issue]) -> None:
        actor = Actor.pos(conclusion.register, staff_id=conclusion.staff_id, origin=Origin.OFFLINE)
        if decision.debit > 0:
            if op.kind == GIFT_CARD:
                obj.balance -= decision.debit
                self._entry(obj, LedgerEntry.Operation.REDEEM, -decision.debit, actor, conclusion)
            else:
                self._memo_apply(obj, op, decision, actor, conclusion, found)
        if decision.shortfall > 0:
            self._shortfall(op.kind, obj, decision.shortfall, conclusion)
        self.snapshot.booked[self._key(op.kind, obj, conclusion)] = op.amount
        self._end_hold(op.kind, obj, conclusion, Hold.End.CONCLUDED_OFFLINE, concluded=op.amount)
        if decision.clear_lock:
            clear_lock(obj)
        self.dirty[op.kind][obj.pk] = obj

    def _memo_apply(self, memo: CreditMemo, op, decision, actor: Actor, conclusion, found: list[Issue]) -> None:
        rest = rules.memo_split(memo.balance, decision.debit)
        memo.applied_amount, memo.balance, memo.status = decision.debit, rest, CreditMemo.Status.APPLIED
        self._entry(memo, LedgerEntry.Operation.REDEEM, -decision.debit, actor, conclusion)
        if rest == 0:
            return
        number = self._remainder_number(memo, op, decision.clear_lock, found)
        memo.balance = Decimal(0)
        self._entry(memo, LedgerEntry.Operation.REMAINDER_OUT, -rest, actor, conclusion, note=number)
        remainder = CreditMemo(
            number=number,
            legal_entity_id=memo.legal_entity_id,
            currency=memo.currency,
            amount=rest,
            balance=rest,
            issued_channel=conclusion.register.channel,
            remainder_of=memo,
        )
        self.new_memos.append(remainder)
        self._entry(remainder, LedgerEntry.Operation.ISSUE, rest, actor, conclusion, note=f"remainder of {memo.number}")

    def _remainder_number(self, memo: CreditMemo, op, held: bool, found: list[Issue]) -> str:
        """The number the register printed if still free (or reserved for this memo), else the
        reserved one, else a new one (reported, since the printed slip no longer matches)."""
        taken = self.snapshot.taken_numbers
        reserved = memo.lock_remainder_number if held else ""
        for number in (op.remainder_number, reserved):
            if number and (number == reserved or number not in taken):
                taken.add(number)
                return number
        number = credit_memo_number_generate()
        while number in taken:
            number = credit_memo_number_generate()
        taken.add(number)
        if op.remainder_number:
            detail = f"The remainder number printed ({op.remainder_number}) was taken; the remainder is {number}."
            found.append(_issue(Finding("remainder_renumbered", detail), memo))
        return number

    def _already_booked(self, op, obj: LockFields, conclusion) -> list[Issue]:
        booked = self.snapshot.booked[self._key(op.kind, obj, conclusion)]
        if booked == op.amount:
            return []
        detail = (
            f"The {op.kind.label} {rules.mask(obj.number)} was already redeemed online for "
            f"{rules.amount_text(booked)} in this transaction; the offline conclusion says "
            f"{rules.amount_text(op.amount)}. Nothing booked again."
        )
        return [_issue(Finding("already_redeemed", detail), obj)]

    def _moved_since(self, kind: Kind, obj: LockFields, hold: HoldView | None) -> bool:
        if hold is None or hold.ended_at is None:
            return False
        if (kind, obj.pk) in self.moved_now:
            return True
        return self.snapshot.last_moved.get((kind, obj.pk), hold.ended_at) > hold.ended_at

    def _unlock(self, kind: Kind, obj: LockFields | None, conclusion: OfflineConclusion) -> None:
        if obj is not None and rules.held_by(obj, conclusion.register.pk, conclusion.transaction_id):
            self._end_hold(kind, obj, conclusion, Hold.End.UNLOCKED)
            clear_lock(obj)
            self.dirty[kind][obj.pk] = obj

    def _end_hold(self, kind: Kind, obj: LockFields, conclusion, end: str, concluded: Decimal | None = None) -> None:
        """End this owner's hold if still open, and record what it concluded offline."""
        held = self.snapshot.holds.get(self._key(kind, obj, conclusion))
        if held is None:
            return
        hold_id, view = held
        row = self.ended_holds.setdefault(hold_id, Hold(pk=hold_id, end=view.end, ended_at=view.ended_at))
        if not row.end:
            row.end, row.ended_at = end, self.now
        if concluded is not None:
            row.concluded_at, row.concluded_amount = conclusion.concluded_at, concluded
            self.snapshot.exposure.setdefault((conclusion.register.pk, kind), []).append(
                (conclusion.concluded_at, concluded)
            )

    def _shortfall(self, kind: Kind, obj: LockFields, short: Decimal, conclusion: OfflineConclusion) -> None:
        self.shortfalls.append(
            ShortfallEntry(
                **{account_field(obj): obj},
                amount=short,
                currency=obj.currency,
                channel=conclusion.register.channel,
                register=conclusion.register,
                transaction_id=conclusion.transaction_id,
            )
        )

    def _entry(self, obj, operation: str, amount: Decimal, actor: Actor, conclusion, note: str = "") -> None:
        """A ledger row; the account is kept as the object, as a remainder memo has no id yet."""
        self.moved_now.add((obj.kind, obj.pk))
        self.entries.append((obj, ledger_values(obj, operation, amount, actor, conclusion.transaction_id, note)))

    # -- the whole transaction -----------------------------------------------------------------

    def _policy_issues(self, conclusion, totals: dict, since_lock: dict, plausible: bool) -> list[Issue]:
        policies = conclusion.policies if plausible else conclusion.receipt_policies
        found = (
            [] if plausible else [_issue(rules.implausible_finding(conclusion.concluded_at, conclusion.received_at))]
        )
        for kind, total in totals.items():
            if total == 0:
                continue
            findings = rules.offline_redemption_findings(
                kind,
                policies[kind],
                total=total,
                register_total=self._register_total(conclusion, kind),
                longest_since_lock=since_lock.get(kind),
            )
            found.extend(_issue(finding) for finding in findings)
        return found

    def _register_total(self, conclusion: OfflineConclusion, kind: Kind) -> Decimal:
        """The register's offline conclusions of ``kind`` in the 24 hours up to this one's."""
        start = conclusion.concluded_at - rules.REGISTER_WINDOW
        moves = self.snapshot.exposure.get((conclusion.register.pk, kind), [])
        return sum((amount for at, amount in moves if start < at <= conclusion.concluded_at), Decimal(0))

    def write(self) -> None:
        CreditMemo.objects.bulk_create(self.new_memos)
        ShortfallEntry.objects.bulk_create(self.shortfalls)
        now = timezone.now()
        bulk_insert(
            LedgerEntry,
            [
                {"gift_card_id": None, "credit_memo_id": None, f"{account_field(obj)}_id": obj.pk, **values}
                | {"created_at": now}
                for obj, values in self.entries
            ],
        )
        for kind, columns in COLUMNS.items():
            bulk_set(GiftCard if kind == GIFT_CARD else CreditMemo, columns, list(self.dirty[kind].values()))
        bulk_set(Hold, HOLD_COLUMNS, list(self.ended_holds.values()))


def _redeem(op: OfflineOperation, conclusion: OfflineConclusion) -> OfflineRedeem:
    return OfflineRedeem(op.amount, op.currency, conclusion.concluded_at, conclusion.received_at)
