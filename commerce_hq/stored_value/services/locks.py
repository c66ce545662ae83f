"""Lock expiry: the periodic sweep that ends locks whose timeout passed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import CreditMemo, GiftCard, Hold
from .locking import end_lock


def locks_expire() -> int:
    """End every lock past its ``lock_expires_at``; returns how many. Rows busy in another
    transaction are skipped (the next sweep takes them)."""
    expired = 0
    for model in (GiftCard, CreditMemo):
        ids = list(model.objects.filter(lock_expires_at__lte=timezone.now()).values_list("pk", flat=True))
        for pk in ids:
            expired += _expire_one(model, pk)
    return expired


@transaction.atomic
def _expire_one(model, pk: int) -> int:
    obj = model.objects.select_for_update(skip_locked=True).filter(pk=pk, lock_expires_at__lte=timezone.now()).first()
    if obj is None:
        return 0
    end_lock(obj, Hold.End.EXPIRED)
    return 1
