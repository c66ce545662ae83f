"""Read-only queries over stored value: reconciliation and the stuck-locks view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import CreditMemo, GiftCard, LedgerEntry


@dataclass
class ReconcileReport:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _ledger_sum(account: str):
    total = (
        LedgerEntry.objects.filter(**{account: OuterRef("pk")})
        .values(account)
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=19, decimal_places=6))
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=19, decimal_places=6)), zero)


def balance_mismatches(model, account: str) -> list:
    """Rows whose cached balance differs from the sum of their ledger entries. The database
    picks the candidates; each is confirmed in Decimal (SQLite sums decimals as floats)."""
    candidates = model.objects.annotate(ledger=_ledger_sum(account)).exclude(balance=F("ledger"))
    return [row for row in candidates if _as_money(row.ledger) != _as_money(row.balance)]


def _as_money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.000001"))


def lock_problems(model) -> QuerySet:
    """Locks whose owner register is in another legal entity than the card or memo."""
    return model.objects.filter(lock_register__isnull=False).exclude(
        lock_register__channel__legal_entity=F("legal_entity")
    )


def reconcile_stored_value(report: ReconcileReport) -> ReconcileReport:
    for model, account, label in ((GiftCard, "gift_card", "gift card"), (CreditMemo, "credit_memo", "credit memo")):
        report.checked[f"{label}s"] = model.objects.count()
        for row in balance_mismatches(model, account):
            report.problems.append(f"{label} {row.number}: balance {row.balance} != ledger {row.ledger}")
        report.checked[f"{label} locks"] = model.objects.filter(lock_register__isnull=False).count()
        for row in lock_problems(model):
            report.problems.append(f"{label} {row.number}: locked by a register of another legal entity")
    for memo in CreditMemo.objects.filter(~Q(status="open"), applied_amount__gt=0, remainder__isnull=True).exclude(
        applied_amount=F("amount")
    ):
        report.problems.append(f"credit memo {memo.number}: partly applied but no remainder memo")
    return report


def stuck_locks(*, older_than_minutes: int = 0) -> list:
    """Every locked card and memo locked longer than ``older_than_minutes``, oldest first."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    rows = []
    for model in (GiftCard, CreditMemo):
        rows.extend(model.objects.filter(locked_at__lte=cutoff).select_related("lock_register__channel"))
    return sorted(rows, key=lambda row: row.locked_at)
