"""Read-only queries over distribution: the upload part of the reconciliation check."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from commerce_hq.stored_value.selectors import ReconcileReport
from pos_api.channel_db.models import OfflineTransaction

from .models import SyncException

# P-0001 runs every few minutes and on each upload: an upload still pending after this long
# means the job is not running.
UPLOAD_GRACE = timedelta(minutes=10)
SHOWN = 20


def reconcile_uploads(report: ReconcileReport, *, grace: timedelta = UPLOAD_GRACE) -> ReconcileReport:
    """Every staged upload is applied or excepted (or pending for less than ``grace``), an
    excepted one has its sync exceptions and an applied one has none."""
    Status = OfflineTransaction.Status
    rows = OfflineTransaction.objects.select_related("register__channel").annotate(
        excepted=Exists(SyncException.objects.filter(offline_transaction=OuterRef("pk")))
    )
    report.checked["staged uploads"] = rows.count()
    report.checked["uploads pending (within grace)"] = rows.filter(
        status=Status.PENDING, received_at__gte=timezone.now() - grace
    ).count()
    wrong = {
        "still pending after the grace period": rows.filter(
            status=Status.PENDING, received_at__lt=timezone.now() - grace
        ),
        "excepted without a sync exception": rows.filter(status=Status.EXCEPTION, excepted=False),
        "applied but with sync exceptions": rows.filter(status=Status.APPLIED, excepted=True),
    }
    for what, found in wrong.items():
        for row in found.order_by("id")[:SHOWN]:
            report.problems.append(f"upload {row.register} {row.transaction_id}: {what}")
        if (extra := found.count() - SHOWN) > 0:
            report.problems.append(f"… and {extra} more uploads {what}")
    return report
