"""Job P-0001 Upload channel transactions: apply staged offline uploads exactly once.

Pending uploads are taken in ``concluded_at`` order, a chunk at a time, with
``select_for_update(skip_locked=True)`` so two workers never take the same one. A chunk's
money moves, sync exceptions and status changes commit together: a worker killed mid-run
leaves each upload either applied (with its exceptions) or still pending. A chunk that fails
as a whole is retried one upload per savepoint, and an upload that still fails is marked
``apply_failed`` for review instead of blocking the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from commerce_hq.channels.models import Register
from commerce_hq.stored_value.rules import Kind, OfflinePolicy
from commerce_hq.stored_value.services.offline import (
    Issue,
    OfflineConclusion,
    OfflineOperation,
    bulk_insert,
    offline_conclusions_apply,
)
from pos_api.channel_db.models import OfflineTransaction
from pos_api.channel_db.selectors import ParametersTimeline, offline_transactions_pending, parameters_timeline

from ..models import SyncException

CHUNK_SIZE = 2000
logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Staged(NamedTuple):
    """A pending upload as the job reads it (no model instance per row on the hot path)."""

    pk: int
    register_id: int
    transaction_id: str
    concluded_at: datetime
    staff_id: str
    operations: list[dict]
    conflict_of_id: int | None
    received_at: datetime
    register: Register


@dataclass
class ApplyResult:
    applied: int = 0
    with_exceptions: int = 0
    exceptions: int = 0


def offline_transactions_apply(*, chunk_size: int | None = None, progress: Progress | None = None) -> ApplyResult:
    """Apply every pending upload, ``chunk_size`` (default ``CHUNK_SIZE``) per transaction;
    ``progress(done, total)`` is called after each chunk. Callers hold the P-0001 job lock
    (``job_run`` does)."""
    chunk_size = chunk_size or CHUNK_SIZE
    result = ApplyResult()
    total = offline_transactions_pending().count()
    while _apply_chunk(chunk_size, result):
        if result.applied >= total:
            total = result.applied + offline_transactions_pending().count()
        if progress is not None:
            progress(result.applied, total)
    return result


def _apply_chunk(size: int, result: ApplyResult) -> int:
    with transaction.atomic():
        found = list(
            offline_transactions_pending()
            .select_for_update(skip_locked=True)
            .order_by("concluded_at", "id")
            .values_list(*Staged._fields[:-1])[:size]
        )
        if found:
            registers = Register.objects.select_related("channel").in_bulk({values[1] for values in found})
            rows = [Staged(*values, register=registers[values[1]]) for values in found]
            _record(rows, _outcomes(rows), result)
    return len(found)


def _outcomes(rows: list[Staged]) -> dict[int, list[Issue]]:
    try:
        with transaction.atomic():
            return _apply_rows(rows)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        if len(rows) == 1:
            logger.exception("Offline transaction %s could not be applied", rows[0].pk)
            return {rows[0].pk: [Issue(code="apply_failed", detail=f"{type(exc).__name__}: {exc}"[:500])]}
    outcomes = {}
    for row in rows:
        outcomes.update(_outcomes([row]))
    return outcomes


def _apply_rows(rows: list[Staged]) -> dict[int, list[Issue]]:
    timeline = parameters_timeline(channel_ids={row.register.channel_id for row in rows})
    outcomes, conclusions = {}, []
    for row in rows:
        if row.conflict_of_id is not None:
            detail = "Uploaded again with different content; the first upload stands, this one is not applied."
            outcomes[row.pk] = [Issue(code="upload_conflict", detail=detail)]
        else:
            conclusions.append(_conclusion(row, timeline))
    outcomes.update(offline_conclusions_apply(conclusions=conclusions))
    return outcomes


def _conclusion(row: Staged, timeline: ParametersTimeline) -> OfflineConclusion:
    operations = tuple(
        OfflineOperation(
            type=op["type"],
            number=op["number"],
            amount=Decimal(op["amount"]) if "amount" in op else None,
            currency=op.get("currency", ""),
            remainder_number=op.get("remainder_number", ""),
        )
        for op in row.operations
    )
    return OfflineConclusion(
        key=row.pk,
        register=row.register,
        transaction_id=row.transaction_id,
        staff_id=row.staff_id,
        operations=operations,
        concluded_at=row.concluded_at,
        received_at=row.received_at,
        policies=_policies(timeline, row.register.channel_id, row.concluded_at),
        receipt_policies=_policies(timeline, row.register.channel_id, row.received_at),
    )


def _policies(timeline: ParametersTimeline, channel_id: int, when: datetime) -> dict[Kind, OfflinePolicy]:
    """The offline parameters of each kind in effect at the channel at ``when``."""
    params = timeline.at(channel_id=channel_id, when=when)
    return {kind: _policy(params.version, params.payload[kind]) for kind in Kind}


def _policy(version: int, payload: dict) -> OfflinePolicy:
    def amount(key: str) -> Decimal | None:
        return None if payload.get(key) is None else Decimal(payload[key])

    return OfflinePolicy(
        version=version,
        allowed=bool(payload["allow_offline_conclusion"]),
        limit=amount("offline_limit"),
        register_limit=amount("offline_register_limit"),
        max_hours=payload.get("offline_max_hours"),
    )


def _record(rows: list[Staged], outcomes: dict[int, list[Issue]], result: ApplyResult) -> None:
    """Book the chunk's sync exceptions and mark each upload applied or excepted."""
    now = timezone.now()
    exceptions, clean, excepted = [], [], []
    for row in rows:
        issues = outcomes[row.pk]
        (excepted if issues else clean).append(row.pk)
        exceptions.extend(
            {
                "code": issue.code,
                "detail": issue.detail,
                "channel_id": row.register.channel_id,
                "register_id": row.register_id,
                "offline_transaction_id": row.pk,
                "gift_card_id": issue.gift_card_id,
                "credit_memo_id": issue.credit_memo_id,
                "amount": issue.amount,
                "created_at": now,
                "note": "",
            }
            for issue in issues
        )
    bulk_insert(SyncException, exceptions)
    Status = OfflineTransaction.Status
    OfflineTransaction.objects.filter(pk__in=clean).update(status=Status.APPLIED, applied_at=now)
    OfflineTransaction.objects.filter(pk__in=excepted).update(status=Status.EXCEPTION, applied_at=now)
    result.applied += len(rows)
    result.with_exceptions += len(excepted)
    result.exceptions += len(exceptions)
