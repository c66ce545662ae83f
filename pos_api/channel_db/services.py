"""Channel database writers: parameters as distributed to channels, and staged offline uploads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from commerce_hq import money
from commerce_hq.channels.models import Device, Register

from .models import DistributedParameters, OfflineTransaction
from .selectors import channel_parameters_invalidate


def distributed_parameters_publish(*, channel_ids: list[int], version: int, payload: dict) -> list[int]:
    """Give ``version`` to each channel that does not have it yet and drop their cached
    parameters at once; returns the channels that got it. Call it outside a transaction so
    the cache is dropped after the rows are visible."""
    have = set(
        DistributedParameters.objects.filter(channel_id__in=channel_ids, version=version).values_list(
            "channel_id", flat=True
        )
    )
    now = timezone.now()
    missing = [pk for pk in channel_ids if pk not in have]
    DistributedParameters.objects.bulk_create(
        [DistributedParameters(channel_id=pk, version=version, payload=payload, distributed_at=now) for pk in missing],
        ignore_conflicts=True,
    )
    for pk in missing:
        channel_parameters_invalidate(channel_id=pk)
    return missing


@dataclass
class UploadResult:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def canonical_operations(operations: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Operations as stored and hashed: upper-case numbers, amounts with the currency's decimals."""
    result = []
    for op in operations:
        item = {"type": op["type"], "number": op["number"].upper()}
        if "amount" in op:
            item["amount"] = money.format_amount(Decimal(op["amount"]), op["currency"])
            item["currency"] = op["currency"]
        if op.get("remainder_number"):
            item["remainder_number"] = op["remainder_number"].upper()
        result.append(item)
    return result


def content_hash(*, transaction_id: str, concluded_at: datetime, staff_id: str, operations: list[dict]) -> str:
    content = {
        "transaction_id": transaction_id,
        "concluded_at": concluded_at.astimezone(UTC).isoformat(),
        "staff_id": staff_id,
        "operations": operations,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@transaction.atomic
def offline_transactions_stage(*, device: Device, transactions: list[dict[str, Any]]) -> UploadResult:
    """Store a validated upload durably: new transaction ids are accepted, identical re-uploads
    are duplicates (no change), different content under a known id is kept as a flagged
    conflict row (never overwriting). Uploads of one register are serialized by a row lock."""
    register = Register.objects.select_for_update().get(pk=device.register_id)
    staged = [_staged(device, register, tx) for tx in transactions]
    known = _known(register, [row.transaction_id for row in staged])
    result, new_rows = UploadResult(), []
    for row in staged:
        original, hashes = known.get(row.transaction_id, (None, set()))
        if original is None:
            result.accepted.append(row.transaction_id)
            new_rows.append(row)
        elif row.content_hash == original.content_hash:
            result.duplicates.append(row.transaction_id)
        else:
            result.conflicts.append(row.transaction_id)
            if row.content_hash not in hashes:
                row.conflict_of = original
                new_rows.append(row)
    OfflineTransaction.objects.bulk_create(new_rows)
    return result


def _staged(device: Device, register: Register, tx: dict[str, Any]) -> OfflineTransaction:
    operations = canonical_operations(tx["operations"])
    staff_id = tx.get("staff_id", "")
    return OfflineTransaction(
        register=register,
        device=device,
        transaction_id=tx["transaction_id"],
        concluded_at=tx["concluded_at"],
        staff_id=staff_id,
        operations=operations,
        content_hash=content_hash(
            transaction_id=tx["transaction_id"],
            concluded_at=tx["concluded_at"],
            staff_id=staff_id,
            operations=operations,
        ),
    )


def _known(register: Register, transaction_ids: list[str]) -> dict[str, tuple[OfflineTransaction, set[str]]]:
    """{transaction id: (original row, every content hash stored for it)}."""
    known: dict[str, tuple[OfflineTransaction | None, set[str]]] = {}
    rows = OfflineTransaction.objects.filter(register=register, transaction_id__in=transaction_ids).only(
        "id", "transaction_id", "content_hash", "conflict_of_id"
    )
    for row in rows:
        original, hashes = known.get(row.transaction_id, (None, set()))
        hashes.add(row.content_hash)
        known[row.transaction_id] = (row if row.conflict_of_id is None else original, hashes)
    return known
