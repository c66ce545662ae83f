"""Sync exceptions: resolving them after review."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from commerce_hq.stored_value.errors import InvalidRequest

from ..models import SyncException


@transaction.atomic
def sync_exceptions_resolve(*, ids: list[int], user, note: str) -> int:
    """Mark the unresolved exceptions among ``ids`` resolved with ``note`` (required); returns how many."""
    note = (note or "").strip()
    if not note:
        raise InvalidRequest("A note is required.", errors=[{"field": "note", "detail": "Required."}])
    return SyncException.objects.filter(pk__in=ids, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=user, note=note[:500]
    )
