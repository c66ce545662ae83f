"""A sale on the register: lock lines online, conclude online or, when HQ stops answering,
conclude offline within what the cached parameters allow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .errors import ApiError, Unreachable
from .records import (
    CONCLUDED_OFFLINE,
    CREDIT_MEMO,
    GIFT_CARD,
    LOCKED,
    LOCKING,
    REDEEMED_ONLINE,
    REDEEMING,
    REFUSED,
    UNLOCK_QUEUED,
    VOIDED,
    VOIDING,
    Line,
    now_rfc3339,
    parse_time,
    same_scale,
    to_amount,
)

FINISHED = (VOIDED, REFUSED, REDEEMED_ONLINE, CONCLUDED_OFFLINE)


@dataclass
class SaleResult:
    transaction_id: str
    lines: list[Line]
    offline: bool = False
    queued_operations: list[dict] = field(default_factory=list)

    def paid(self) -> Decimal:
        return sum((Decimal(line.amount) for line in self.lines if line.amount), Decimal(0))


class Sale:
    """One POS transaction (``transaction_id``) and its gift card / credit memo lines, each
    saved to the offline database at every change of state."""

    def __init__(self, client: Any, transaction_id: str, staff_id: str | None, lines: list[Line] | None = None):
        self.client = client
        self.transaction_id = transaction_id
        self.staff_id = staff_id
        self.lines: list[Line] = lines or []

    # -- adding and voiding lines -----------------------------------------------------------
    def add_gift_card(self, number: str, amount: str | None = None) -> Line:
        return self._add(GIFT_CARD, number, amount)

    def add_credit_memo(self, number: str, amount: str | None = None) -> Line:
        return self._add(CREDIT_MEMO, number, amount)

    def _add(self, kind: str, number: str, amount: str | None) -> Line:
        """Lock the card online (never offline) and record the balance shown. Adding the same
        card again reuses its line; a lock whose answer was lost is retried with the same key."""
        number = number.strip().upper()
        requested = str(to_amount(amount)) if amount is not None else None
        line = self._open_line(kind, number) or Line(self.transaction_id, len(self.lines) + 1, kind, number)
        line.requested = requested
        if line.state == LOCKED:
            self._save(line)
            return line
        self.client.require_online(f"adding a {kind.replace('_', ' ')}")
        if line not in self.lines:
            self.lines.append(line)
        self._save(line)
        try:
            reply = self.client.post(
                f"{line.path}/lock", {"transaction_id": self.transaction_id}, intent=line.intent("lock"), money=True
            )
        except ApiError:
            self._set(line, REFUSED)
            raise
        self._record_lock(line, reply.body)
        try:
            same_scale(line.tender(), line.shown_balance)
        except ValueError:
            self.void_line(line)
            raise
        return line

    def _open_line(self, kind: str, number: str) -> Line | None:
        for line in self.lines:
            if line.kind == kind and line.number == number and line.state not in (VOIDED, REFUSED):
                if line.state not in (LOCKING, LOCKED):
                    raise ValueError(f"line {line.line_no} for this card is being voided or concluded")
                return line
        return None

    def _record_lock(self, line: Line, body: dict) -> None:
        lock = body.get("lock") or {}
        line.currency = body["currency"]
        line.shown_balance = body["balance"] if line.kind == GIFT_CARD else body["amount"]
        line.remainder_number = lock.get("remainder_number")
        line.lock_expires_at = lock.get("expires_at")
        self._set(line, LOCKED)

    def void_line(self, line: Line) -> Line:
        """Unlock online; when HQ does not answer, the unlock is queued for the upload."""
        if line.state in FINISHED:
            return line
        if not self.client.try_online():
            self._set(line, UNLOCK_QUEUED)
            return line
        self._unlock_online(line)
        return line

    def _unlock_online(self, line: Line) -> None:
        self._set(line, VOIDING)
        try:
            self.client.post(
                f"{line.path}/unlock",
                {"transaction_id": self.transaction_id},
                intent=line.intent("unlock"),
                money=True,
            )
        except Unreachable:
            self._set(line, UNLOCK_QUEUED)
            return
        except ApiError as exc:
            if exc.code not in ("lock_not_held", "card_not_found", "memo_not_found"):
                raise
        self._set(line, VOIDED)

    # -- concluding -------------------------------------------------------------------------
    def conclude(self) -> SaleResult:
        """Redeem every locked line online; from the first unanswered call on, conclude offline.
        A line HQ refuses online (``ApiError``) is marked refused and the error raised: conclude
        again to finish the other lines, and take that amount another way."""
        offline = not self.client.try_online()
        for line in self.lines:
            if line.state in FINISHED:
                continue
            if not offline:
                try:
                    self._conclude_online(line)
                    continue
                except Unreachable:
                    offline = True
            self._conclude_offline(line)
        operations = self._queue_offline()
        self.client.store.sale_close(self.transaction_id, "concluded")
        return SaleResult(self.transaction_id, list(self.lines), offline, operations)

    def void(self) -> SaleResult:
        for line in self.lines:
            self.void_line(line)
        return self.conclude()

    def _conclude_online(self, line: Line) -> None:
        if line.state not in (LOCKED, REDEEMING) or line.tender() <= 0:
            self._unlock_online(line)
            return
        amount = same_scale(line.tender(), line.shown_balance)
        self._set(line, REDEEMING)
        body = {"transaction_id": self.transaction_id, "amount": amount, "currency": line.currency}
        try:
            reply = self.client.post(f"{line.path}/redeem", body, intent=line.intent("redeem"), money=True)
        except ApiError:
            self._set(line, REFUSED)
            raise
        record_online_redeem(line, amount, reply.body)
        self._save(line)

    def _conclude_offline(self, line: Line) -> None:
        amount = offline_amount(line, self.client.cached_parameters(), self._spent_offline(line.kind))
        if amount is None:
            self._set(line, UNLOCK_QUEUED)
            return
        line.amount = same_scale(amount, line.shown_balance)
        if line.kind == CREDIT_MEMO and amount < Decimal(line.shown_balance):
            line.remainder = line.remainder_number
        self._set(line, CONCLUDED_OFFLINE)

    def _spent_offline(self, kind: str) -> Decimal:
        spent = [Decimal(x.amount) for x in self.lines if x.kind == kind and x.state == CONCLUDED_OFFLINE]
        return sum(spent, Decimal(0))

    def _queue_offline(self) -> list[dict]:
        """Store the offline operations (before any upload); abandon lock/unlock calls left in
        doubt, which the queued unlock covers. A redeem left in doubt is resolved on reconnect."""
        operations = offline_operations(self.lines)
        if not operations:
            return []
        for line in self.lines:
            if line.state == UNLOCK_QUEUED:
                self.client.store.intent_abandon(line.intent("lock"))
                self.client.store.intent_abandon(line.intent("unlock"))
        body = {"transaction_id": self.transaction_id, "concluded_at": now_rfc3339(), "operations": operations}
        if self.staff_id:
            body["staff_id"] = self.staff_id
        self.client.store.offline_queue(body)
        return operations

    def _set(self, line: Line, state: str) -> None:
        line.state = state
        self._save(line)

    def _save(self, line: Line) -> None:
        self.client.store.line_save(line)


def record_online_redeem(line: Line, amount: str, answer: dict) -> None:
    """The line was redeemed online for ``amount``; a memo's remainder number comes from HQ's answer."""
    remainder = answer.get("remainder") if line.kind == CREDIT_MEMO else None
    line.remainder = remainder["number"] if remainder else None
    line.amount = amount
    line.state = REDEEMED_ONLINE


def offline_amount(line: Line, parameters: dict, spent_offline: Decimal) -> Decimal | None:
    """What a line may be concluded for offline: nothing unless it was locked online (with the
    balance shown) and the channel's parameters allow it; at most the balance shown and what is
    left of ``offline_limit`` for this transaction; nothing once the lock has expired."""
    section = parameters.get(line.kind) or {}
    if line.state not in (LOCKED, REDEEMING) or not section.get("allow_offline_conclusion"):
        return None
    expires = parse_time(line.lock_expires_at)
    if expires is not None and expires <= datetime.now(UTC):
        return None
    amount = line.tender()
    limit = section.get("offline_limit")
    if limit is not None:
        amount = min(amount, Decimal(limit) - spent_offline)
    return amount if amount > 0 else None


def offline_operations(lines: list[Line]) -> list[dict]:
    """The ``operations`` of a sale's ``offline-transactions`` item, from its lines."""
    operations = []
    for line in lines:
        if line.state == CONCLUDED_OFFLINE:
            operation = {"type": f"{line.kind}.redeem", "number": line.number, "amount": line.amount}
            operation["currency"] = line.currency
            if line.remainder:
                operation["remainder_number"] = line.remainder
            operations.append(operation)
        elif line.state == UNLOCK_QUEUED:
            operations.append({"type": f"{line.kind}.unlock", "number": line.number})
    return operations
