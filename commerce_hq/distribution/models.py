"""Distribution jobs and what they leave behind: job runs, sync exceptions, the job lock.

Schedules are django-celery-beat rows (see ``services.schedules``); written only by services.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce_hq.channels.models import Channel, Register
from commerce_hq.stored_value.models import MONEY, CreditMemo, GiftCard
from pos_api.channel_db.models import OfflineTransaction


class Job(models.TextChoices):
    GLOBAL_CONFIGURATION = "1110", "1110 Global configuration"
    UPLOAD_TRANSACTIONS = "P-0001", "P-0001 Upload channel transactions"
    ALL_JOBS = "9999", "9999 All jobs"


class JobRun(models.Model):
    """One run of a distribution job, with its counts and live progress."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ADMIN = "admin", "Admin (Run now)"
        CLI = "cli", "Command line"
        UPLOAD = "upload", "Offline upload"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=8, choices=Job.choices, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    channels_updated = models.PositiveIntegerField(default=0)
    transactions_applied = models.PositiveIntegerField(default=0)
    exceptions_raised = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("run_job", "Can run distribution jobs now")]

    def __str__(self) -> str:
        return f"{self.job} run {self.pk} ({self.status})"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class JobLock(models.Model):
    """Where no PostgreSQL advisory lock exists (SQLite): one row per job, taken by a
    conditional UPDATE so only one run of the job holds it."""

    job = models.CharField(max_length=8, primary_key=True)
    held_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.job} lock"


class SyncException(models.Model):
    """Something the upload job booked but a person should review (a lost lock, an overspend,
    an unknown card…), until it is resolved with a note."""

    class Code(models.TextChoices):
        LOCK_LOST = "lock_lost", "Lock lost"
        OFFLINE_NOT_ALLOWED = "offline_not_allowed", "Offline conclusion not allowed"
        OFFLINE_LIMIT_EXCEEDED = "offline_limit_exceeded", "Offline limit exceeded"
        OFFLINE_OVERSPEND = "offline_overspend", "Offline overspend (shortfall)"
        UNKNOWN_CARD = "unknown_card", "Unknown gift card"
        UNKNOWN_MEMO = "unknown_memo", "Unknown credit memo"
        CARD_INACTIVE = "card_inactive", "Gift card not active"
        CURRENCY_MISMATCH = "currency_mismatch", "Currency mismatch"
        ALREADY_REDEEMED = "already_redeemed", "Already redeemed online for another amount"
        UPLOAD_CONFLICT = "upload_conflict", "Re-upload with different content"
        REMAINDER_RENUMBERED = "remainder_renumbered", "Remainder memo renumbered"
        APPLY_FAILED = "apply_failed", "Could not be applied"

    code = models.CharField(max_length=24, choices=Code.choices, db_index=True)
    detail = models.CharField(max_length=500)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="+")
    offline_transaction = models.ForeignKey(
        OfflineTransaction, on_delete=models.PROTECT, related_name="sync_exceptions"
    )
    gift_card = models.ForeignKey(GiftCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_memo = models.ForeignKey(CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY, null=True, blank=True, help_text="The shortfall, for offline_overspend.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("resolve_syncexception", "Can resolve sync exceptions")]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | ~Q(note=""), name="sync_exception_resolved_with_note"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.offline_transaction.transaction_id})"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None
