"""The reconciliation check anyone can run (``manage.py reconcile``)."""

from commerce_hq.distribution.selectors import reconcile_uploads
from commerce_hq.stored_value.selectors import ReconcileReport, reconcile_stored_value


def run_reconcile() -> ReconcileReport:
    """Every balance against its ledger, every lock against its owner, every staged upload
    applied or excepted."""
    report = ReconcileReport()
    reconcile_stored_value(report)
    reconcile_uploads(report)
    return report
