"""Applying offline conclusions: the stored-value side of the upload job (P-0001).

A register that lost its connection concluded the sale locally. The sale happened, so HQ books
it even when it can no longer be fully covered, and reports what a person should review as
issues (the upload job turns them into sync exceptions):

- ``*.redeem`` on a card or memo this register+transaction still holds: debit (a memo is applied
  and its remainder issued under the number reserved at lock time) and unlock.
- The lock is gone or held by another: booked anyway, ``lock_lost``; another register's lock is
  left alone. A lock that merely expired is not lost if the card did not move since.
- The balance no longer covers it: debit what is left, book the rest to the shortfall account,
  ``offline_overspend``.
- Unknown number (another legal entity's too, as online): ``unknown_card`` / ``unknown_memo``;
  another currency than the card's: ``currency_mismatch``. Nothing is booked for these.
- A blocked, closed or expired gift card: booked anyway (up to its balance), ``card_inactive``.
  The customer left with the goods; refusing the booking would hide the loss instead of
  showing it, and the card's value really was spent at the till.
- Already debited online by this register+transaction (the answer was lost on the way back):
  nothing is booked twice; ``already_redeemed`` when the amounts differ.
- The parameter version in effect did not allow offline conclusion, or the transaction's
  redemptions of one kind exceed its offline limit: booked anyway, ``offline_not_allowed`` /
  ``offline_limit_exceeded``.
- ``*.unlock``: unlock if this register+transaction holds the lock; otherwise nothing.

Many conclusions are applied together: each card and memo involved is row-locked once, in
primary-key order, and the writes are bulk statements, all inside the caller's transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from commerce_hq.channels.models import Register

from ...locks import mask
from ...models import AuditEvent, CreditMemo, GiftCard, LedgerEntry, LockFields, Origin, ShortfallEntry
from ..common import LOCK_FIELDS, Actor, clear_lock, held_by, is_expired
from ..credit_memos import credit_memo_number_generate
from .bulk import bulk_insert, bulk_set
from .types import CREDIT_MEMO, GIFT_CARD, Issue, OfflineConclusion, OfflineOperation, OfflinePolicy

LABEL = {GIFT_CARD: "gift card", CREDIT_MEMO: "credit memo"}
LOCK_ENDS = [AuditEvent.Action.LOCK_EXPIRED, AuditEvent.Action.LOCK_RELEASED]
CARD_COLUMNS = ["balance", *LOCK_FIELDS]
MEMO_COLUMNS = ["balance", "applied_amount", "status", *LOCK_FIELDS, "lock_remainder_number"]

__all__ = [
    "CREDIT_MEMO",
    "GIFT_CARD",
    "Issue",
    "OfflineConclusion",
    "OfflineOperation",
    "OfflinePolicy",
    "bulk_insert",
    "offline_conclusions_apply",
]


@transaction.atomic
def offline_conclusions_apply(*, conclusions: list[OfflineConclusion]) -> dict[int, list[Issue]]:
    """Book ``conclusions`` in the given order; returns the issues of each, by ``key``."""
    return _Batch(conclusions).apply()


def _issue(code: str, obj: LockFields | None, detail: str, amount: Decimal | None = None) -> Issue:
    ids = {"credit_memo_id": obj.pk} if isinstance(obj, CreditMemo) else {"gift_card_id": getattr(obj, "pk", None)}
    return Issue(code=code, detail=detail[:500], amount=amount, **ids)


class _Batch:
    def __init__(self, conclusions: list[OfflineConclusion]) -> None:
        self.conclusions = conclusions
        numbers = {GIFT_CARD: set(), CREDIT_MEMO: set()}
        for conclusion in conclusions:
            for op in conclusion.operations:
                numbers[op.kind].add(op.number)
        self.objects = {
            GIFT_CARD: _locked(GiftCard, numbers[GIFT_CARD]),
            CREDIT_MEMO: _locked(CreditMemo, numbers[CREDIT_MEMO]),
        }
        self.booked = self._previous_redeems()
        self.lock_ends, self.last_moved = self._lock_history()
        self.taken = self._taken_numbers()
        self.moved_now: set[tuple[str, int]] = set()
        self.registers: dict[int, Register] = {c.register.pk: c.register for c in conclusions}
        self.entries: list[tuple[str, LockFields, dict]] = []
        self.shortfalls: list[ShortfallEntry] = []
        self.new_memos: list[CreditMemo] = []
        self.dirty: dict[str, dict[int, LockFields]] = {GIFT_CARD: {}, CREDIT_MEMO: {}}

    # -- loading -------------------------------------------------------------------------------

    def _previous_redeems(self) -> dict[tuple, Decimal]:
        """Redemptions already booked: {(kind, object id, register id, transaction id): amount}."""
        cards, memos = self.objects[GIFT_CARD], self.objects[CREDIT_MEMO]
        transaction_ids = {c.transaction_id for c in self.conclusions}
        rows = LedgerEntry.objects.filter(
            Q(gift_card_id__in=[c.pk for c in cards.values()], transaction_id__in=transaction_ids)
            | Q(credit_memo_id__in=[m.pk for m in memos.values()]),
            operation=LedgerEntry.Operation.REDEEM,
        ).values_list("gift_card_id", "credit_memo_id", "register_id", "transaction_id", "amount")
        booked = {}
        for card_id, memo_id, register_id, transaction_id, amount in rows:
            kind = GIFT_CARD if card_id else CREDIT_MEMO
            booked[(kind, card_id or memo_id, register_id, transaction_id)] = -amount
        return booked

    def _unheld(self) -> dict[str, set[int]]:
        """Objects some conclusion redeems without holding their lock (the rare, slow path)."""
        unheld = {GIFT_CARD: set(), CREDIT_MEMO: set()}
        for conclusion in self.conclusions:
            for op in conclusion.operations:
                obj = self._find(op, conclusion)
                if (
                    op.is_redeem
                    and obj is not None
                    and not held_by(obj, conclusion.register, conclusion.transaction_id)
                ):
                    unheld[op.kind].add(obj.pk)
        return unheld

    def _lock_history(self) -> tuple[dict, dict]:
        """How locks of unheld objects ended ({(kind, id, register id, transaction id): (action, at)})
        and when each unheld object last moved ({(kind, id): at})."""
        unheld = self._unheld()
        if not (unheld[GIFT_CARD] or unheld[CREDIT_MEMO]):
            return {}, {}
        either = Q(gift_card_id__in=unheld[GIFT_CARD]) | Q(credit_memo_id__in=unheld[CREDIT_MEMO])
        ends = {}
        events = AuditEvent.objects.filter(either, action__in=LOCK_ENDS).order_by("created_at", "id")
        for event in events.values(
            "gift_card_id", "credit_memo_id", "lock_register_id", "lock_transaction_id", "action", "created_at"
        ):
            kind, pk = (
                (GIFT_CARD, event["gift_card_id"]) if event["gift_card_id"] else (CREDIT_MEMO, event["credit_memo_id"])
            )
            key = (kind, pk, event["lock_register_id"], event["lock_transaction_id"])
            ends[key] = (event["action"], event["created_at"])
        moved = {}
        for card_id, memo_id, last in (
            LedgerEntry.objects.filter(either).values_list("gift_card_id", "credit_memo_id").annotate(Max("created_at"))
        ):
            moved[(GIFT_CARD, card_id) if card_id else (CREDIT_MEMO, memo_id)] = last
        return ends, moved

    def _taken_numbers(self) -> set[str]:
        wanted = {op.remainder_number for c in self.conclusions for op in c.operations if op.remainder_number}
        if not wanted:
            return set()
        rows = CreditMemo.objects.filter(Q(number__in=wanted) | Q(lock_remainder_number__in=wanted))
        return {n for pair in rows.values_list("number", "lock_remainder_number") for n in pair} & wanted

    # -- applying ------------------------------------------------------------------------------

    def apply(self) -> dict[int, list[Issue]]:
        issues = {}
        for conclusion in self.conclusions:
            issues[conclusion.key] = self._conclude(conclusion)
        self._write()
        return issues

    def _conclude(self, conclusion: OfflineConclusion) -> list[Issue]:
        found: list[Issue] = []
        totals = {GIFT_CARD: Decimal(0), CREDIT_MEMO: Decimal(0)}
        actor = Actor.pos(conclusion.register, staff_id=conclusion.staff_id, origin=Origin.OFFLINE)
        for op in conclusion.operations:
            obj = self._find(op, conclusion)
            if not op.is_redeem:
                self._release_own(op.kind, obj, conclusion)
            elif self._redeem(op, obj, conclusion, actor, found):
                totals[op.kind] += op.amount
        return found + _policy_issues(conclusion.policy, totals)

    def _find(self, op: OfflineOperation, conclusion: OfflineConclusion) -> LockFields | None:
        """The card or memo ``op`` names, if it belongs to the register's legal entity."""
        obj = self.objects[op.kind].get(op.number)
        if obj is None or obj.legal_entity_id != conclusion.register.channel.legal_entity_id:
            return None
        return obj

    def _redeem(self, op, obj, conclusion, actor, found: list[Issue]) -> bool:
        """Book one redemption; False when it was already booked online (not an offline one)."""
        if obj is None:
            code = "unknown_card" if op.kind == GIFT_CARD else "unknown_memo"
            found.append(_issue(code, None, f"No {LABEL[op.kind]} {mask(op.number)}; nothing booked."))
            return True
        if obj.currency != op.currency:
            detail = f"The {LABEL[op.kind]} {mask(obj.number)} is in {obj.currency}, the sale in {op.currency}"
            found.append(_issue("currency_mismatch", obj, detail + "; nothing booked."))
            return True
        key = (op.kind, obj.pk, conclusion.register.pk, conclusion.transaction_id)
        if key in self.booked:
            found.extend(self._already_booked(op, obj, self.booked[key]))
            self._release_own(op.kind, obj, conclusion)
            return False
        held = held_by(obj, conclusion.register, conclusion.transaction_id)
        if not held:
            found.extend(self._lock_lost(op.kind, obj, conclusion))
        book = self._card_debit if op.kind == GIFT_CARD else self._memo_apply
        covered = book(obj, op, actor, conclusion, held, found)
        self.booked[key] = op.amount
        if held:
            clear_lock(obj)
        self.dirty[op.kind][obj.pk] = obj
        if covered < op.amount:
            found.append(self._shortfall(op.kind, obj, op.amount, covered, conclusion))
        return True

    def _card_debit(self, card: GiftCard, op, actor, conclusion, held, found: list[Issue]) -> Decimal:
        if card.status != GiftCard.Status.ACTIVE or is_expired(card.expires_at):
            state = card.status if card.status != GiftCard.Status.ACTIVE else "expired"
            found.append(_issue("card_inactive", card, f"The gift card {mask(card.number)} is {state}; booked anyway."))
        debit = min(op.amount, card.balance)
        if debit > 0:
            card.balance -= debit
            self._entry(card, LedgerEntry.Operation.REDEEM, -debit, actor, conclusion)
        return debit

    def _memo_apply(self, memo: CreditMemo, op, actor, conclusion, held, found: list[Issue]) -> Decimal:
        covered = memo.balance if memo.status == CreditMemo.Status.OPEN else Decimal(0)
        applied = min(op.amount, covered)
        if applied == 0:
            return applied
        rest = covered - applied
        memo.applied_amount, memo.balance, memo.status = applied, rest, CreditMemo.Status.APPLIED
        self._entry(memo, LedgerEntry.Operation.REDEEM, -applied, actor, conclusion)
        if rest > 0:
            number = self._remainder_number(memo, op, held, found)
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
            note = f"remainder of {memo.number}"
            self._entry(remainder, LedgerEntry.Operation.ISSUE, rest, actor, conclusion, note=note)
        return applied

    def _remainder_number(self, memo: CreditMemo, op, held: bool, found: list[Issue]) -> str:
        """The number the register printed if still free (or reserved for this memo), else the
        reserved one, else a new one (reported, since the printed slip no longer matches)."""
        reserved = memo.lock_remainder_number if held else ""
        for number in (op.remainder_number, reserved):
            if number and (number == reserved or number not in self.taken):
                self.taken.add(number)
                return number
        number = credit_memo_number_generate()
        while number in self.taken:
            number = credit_memo_number_generate()
        self.taken.add(number)
        if op.remainder_number:
            detail = f"The remainder number printed ({op.remainder_number}) was taken; the remainder is {number}."
            found.append(_issue("remainder_renumbered", memo, detail))
        return number

    def _already_booked(self, op, obj, booked: Decimal) -> list[Issue]:
        if booked == op.amount:
            return []
        detail = (
            f"The {LABEL[op.kind]} {mask(obj.number)} was already redeemed online for {booked.normalize():f} "
            f"in this transaction; the offline conclusion says {op.amount.normalize():f}. Nothing booked again."
        )
        return [_issue("already_redeemed", obj, detail)]

    def _lock_lost(self, kind: str, obj: LockFields, conclusion: OfflineConclusion) -> list[Issue]:
        what = f"the {LABEL[kind]} {mask(obj.number)}"
        if obj.is_locked:
            owner = self._register(obj.lock_register_id)
            detail = f"{what} is locked by {owner} (transaction {obj.lock_transaction_id}); that lock is left alone."
            return [_issue("lock_lost", obj, "Booked anyway: " + detail)]
        end = self.lock_ends.get((kind, obj.pk, conclusion.register.pk, conclusion.transaction_id))
        if end is None:
            return [_issue("lock_lost", obj, f"Booked anyway: this transaction held no lock on {what}.")]
        action, ended_at = end
        moved = (kind, obj.pk) in self.moved_now or self.last_moved.get((kind, obj.pk), ended_at) > ended_at
        if action == AuditEvent.Action.LOCK_EXPIRED and not moved:
            return []
        how = "expired and it moved since" if action == AuditEvent.Action.LOCK_EXPIRED else "released by an admin"
        return [_issue("lock_lost", obj, f"Booked anyway: the lock on {what} was {how}.")]

    def _release_own(self, kind: str, obj: LockFields | None, conclusion: OfflineConclusion) -> None:
        if obj is not None and held_by(obj, conclusion.register, conclusion.transaction_id):
            clear_lock(obj)
            self.dirty[kind][obj.pk] = obj

    def _shortfall(self, kind, obj, amount: Decimal, covered: Decimal, conclusion) -> Issue:
        short = amount - covered
        self.shortfalls.append(
            ShortfallEntry(
                **{kind: obj},
                amount=short,
                currency=obj.currency,
                channel=conclusion.register.channel,
                register=conclusion.register,
                transaction_id=conclusion.transaction_id,
            )
        )
        detail = (
            f"The {LABEL[kind]} {mask(obj.number)} covered {covered.normalize():f} of {amount.normalize():f} "
            f"{obj.currency}; {short.normalize():f} booked to the shortfall account."
        )
        return _issue("offline_overspend", obj, detail, amount=short)

    def _entry(self, obj, operation: str, amount: Decimal, actor: Actor, conclusion, note: str = "") -> None:
        """A ledger row; the account is kept as the object, as a remainder memo has no id yet."""
        kind = CREDIT_MEMO if isinstance(obj, CreditMemo) else GIFT_CARD
        self.moved_now.add((kind, obj.pk))
        fields = {
            "operation": operation,
            "amount": amount,
            "balance_after": obj.balance,
            "currency": obj.currency,
            "channel_id": actor.channel.pk,
            "register_id": actor.register.pk,
            "staff_id": actor.staff_id[:32],
            "transaction_id": conclusion.transaction_id,
            "origin": actor.origin,
            "note": note,
        }
        self.entries.append((kind, obj, fields))

    def _register(self, pk: int) -> Register:
        if pk not in self.registers:
            self.registers[pk] = Register.objects.select_related("channel").get(pk=pk)
        return self.registers[pk]

    def _write(self) -> None:
        CreditMemo.objects.bulk_create(self.new_memos)
        ShortfallEntry.objects.bulk_create(self.shortfalls)
        now = timezone.now()
        entries = [
            {"gift_card_id": None, "credit_memo_id": None, f"{kind}_id": obj.pk, **fields, "created_at": now}
            for kind, obj, fields in self.entries
        ]
        bulk_insert(LedgerEntry, entries)
        bulk_set(GiftCard, CARD_COLUMNS, list(self.dirty[GIFT_CARD].values()))
        bulk_set(CreditMemo, MEMO_COLUMNS, list(self.dirty[CREDIT_MEMO].values()))


def _locked(model, numbers: set[str]) -> dict[str, LockFields]:
    """Row-lock every card (or memo) with one of ``numbers``, in primary-key order."""
    if not numbers:
        return {}
    return {obj.number: obj for obj in model.objects.select_for_update().filter(number__in=numbers).order_by("pk")}


def _policy_issues(policy: OfflinePolicy, totals: dict[str, Decimal]) -> list[Issue]:
    found = []
    for kind, total in totals.items():
        if total == 0:
            continue
        if not policy.allowed[kind]:
            detail = (
                f"Parameter version {policy.version} at the channel did not allow concluding {LABEL[kind]}s offline."
            )
            found.append(Issue(code="offline_not_allowed", detail=detail + " Booked anyway."))
        limit = policy.limit[kind]
        if limit is not None and total > limit:
            detail = (
                f"Offline {LABEL[kind]} redemptions of {total.normalize():f} exceed the offline limit "
                f"{limit.normalize():f} of parameter version {policy.version}. Booked anyway."
            )
            found.append(Issue(code="offline_limit_exceeded", detail=detail))
    return found
