"""Load: one snapshot of everything a chunk of offline conclusions touches, in a few queries,
with each card and memo row-locked once, in primary-key order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Q

from ...models import CreditMemo, GiftCard, Hold, LedgerEntry, LockFields
from ...rules import REGISTER_WINDOW, HoldView, Kind
from .types import OfflineConclusion

MODELS = {Kind.GIFT_CARD: GiftCard, Kind.CREDIT_MEMO: CreditMemo}
# (kind, card or memo id, register id, transaction id)
OwnerKey = tuple[Kind, int, int, str]


@dataclass
class Snapshot:
    accounts: dict[Kind, dict[str, LockFields]]
    booked: dict[OwnerKey, Decimal]  # redemptions already booked
    holds: dict[OwnerKey, tuple[int, HoldView]]  # the latest hold of each owner: (hold id, view)
    last_moved: dict[tuple[Kind, int], datetime]  # the latest ledger entry of accounts not held now
    taken_numbers: set[str]  # remainder numbers the conclusions printed that are in use
    exposure: dict[tuple[int, Kind], list[tuple[datetime, Decimal]]] = field(default_factory=dict)

    def account(self, kind: Kind, number: str, legal_entity_id: int) -> LockFields | None:
        """The card or memo, if it belongs to the register's legal entity (as online)."""
        obj = self.accounts[kind].get(number)
        return obj if obj is not None and obj.legal_entity_id == legal_entity_id else None


def load(conclusions: list[OfflineConclusion]) -> Snapshot:
    numbers = {Kind.GIFT_CARD: set(), Kind.CREDIT_MEMO: set()}
    for conclusion in conclusions:
        for op in conclusion.operations:
            numbers[op.kind].add(op.number)
    accounts = {kind: _locked(MODELS[kind], wanted) for kind, wanted in numbers.items()}
    ids = {kind: [obj.pk for obj in objs.values()] for kind, objs in accounts.items()}
    transaction_ids = {c.transaction_id for c in conclusions}
    return Snapshot(
        accounts=accounts,
        booked=_booked(ids, transaction_ids),
        holds=_holds(ids, transaction_ids),
        last_moved=_last_moved(accounts),
        taken_numbers=_taken_numbers(conclusions),
        exposure=_exposure(conclusions),
    )


def _locked(model, numbers: set[str]) -> dict[str, LockFields]:
    if not numbers:
        return {}
    return {obj.number: obj for obj in model.objects.select_for_update().filter(number__in=numbers).order_by("pk")}


def _either(ids: dict[Kind, list[int]], prefix: str = "") -> Q:
    return Q(**{f"{prefix}gift_card_id__in": ids[Kind.GIFT_CARD]}) | Q(
        **{f"{prefix}credit_memo_id__in": ids[Kind.CREDIT_MEMO]}
    )


def _key(card_id, memo_id, register_id, transaction_id) -> OwnerKey:
    kind, pk = (Kind.GIFT_CARD, card_id) if card_id else (Kind.CREDIT_MEMO, memo_id)
    return (kind, pk, register_id, transaction_id)


def _booked(ids: dict[Kind, list[int]], transaction_ids: set[str]) -> dict[OwnerKey, Decimal]:
    rows = LedgerEntry.objects.filter(
        _either(ids), transaction_id__in=transaction_ids, operation=LedgerEntry.Operation.REDEEM
    ).values_list("gift_card_id", "credit_memo_id", "register_id", "transaction_id", "amount")
    return {_key(*row[:4]): -row[4] for row in rows}


def _holds(ids: dict[Kind, list[int]], transaction_ids: set[str]) -> dict[OwnerKey, tuple[int, HoldView]]:
    rows = (
        Hold.objects.filter(_either(ids), transaction_id__in=transaction_ids)
        .order_by("taken_at", "id")
        .values_list(
            "gift_card_id",
            "credit_memo_id",
            "register_id",
            "transaction_id",
            "id",
            "taken_at",
            "balance_shown",
            "ended_at",
            "end",
        )
    )
    return {_key(*row[:4]): (row[4], HoldView(*row[5:])) for row in rows}


def _last_moved(accounts: dict[Kind, dict[str, LockFields]]) -> dict[tuple[Kind, int], datetime]:
    """When each account that nobody holds now last moved (a lock that merely expired on a card
    nobody touched since is not lost)."""
    free = {kind: [obj.pk for obj in objs.values() if not obj.is_locked] for kind, objs in accounts.items()}
    if not (free[Kind.GIFT_CARD] or free[Kind.CREDIT_MEMO]):
        return {}
    rows = (
        LedgerEntry.objects.filter(_either(free))
        .values_list("gift_card_id", "credit_memo_id")
        .annotate(Max("created_at"))
    )
    return {(Kind.GIFT_CARD, card) if card else (Kind.CREDIT_MEMO, memo): last for card, memo, last in rows}


def _taken_numbers(conclusions: list[OfflineConclusion]) -> set[str]:
    wanted = {op.remainder_number for c in conclusions for op in c.operations if op.remainder_number}
    if not wanted:
        return set()
    rows = CreditMemo.objects.filter(Q(number__in=wanted) | Q(lock_remainder_number__in=wanted))
    return {n for pair in rows.values_list("number", "lock_remainder_number") for n in pair} & wanted


def _exposure(conclusions: list[OfflineConclusion]) -> dict[tuple[int, Kind], list[tuple[datetime, Decimal]]]:
    """Offline conclusions already booked by registers whose parameters set a register limit,
    within 24 hours before the chunk's first ``concluded_at``: {(register id, kind): [(at, amount)]}."""
    limited = {
        c.register.pk
        for c in conclusions
        if any(policy.register_limit is not None for policy in (*c.policies.values(), *c.receipt_policies.values()))
    }
    if not limited:
        return {}
    since = min(c.concluded_at for c in conclusions) - REGISTER_WINDOW - timedelta(minutes=5)
    rows = Hold.objects.filter(register_id__in=limited, concluded_at__gt=since).values_list(
        "register_id", "gift_card_id", "concluded_at", "concluded_amount"
    )
    exposure: dict[tuple[int, Kind], list[tuple[datetime, Decimal]]] = {}
    for register_id, card_id, at, amount in rows:
        kind = Kind.GIFT_CARD if card_id else Kind.CREDIT_MEMO
        exposure.setdefault((register_id, kind), []).append((at, amount))
    return exposure
