from django.db import models
from django.db.models import Q
from django.utils import timezone

from commerce_hq.channels.models import Channel, Device, Register


class DistributedParameters(models.Model):
    """A Commerce parameters version as published to one channel by job 1110.

    Rows are kept (never updated) so the version in effect at any moment can be
    looked up: the upload job judges an offline conclusion on the version the
    channel had when the register concluded it.
    """

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="distributed_parameters")
    version = models.PositiveIntegerField()
    payload = models.JSONField(help_text="The POS API parameters body without version/distributed_at.")
    distributed_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "distributed parameters"
        ordering = ["channel", "-distributed_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "version"], name="distributed_parameters_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} v{self.version}"


class OfflineTransaction(models.Model):
    """One POS transaction a register concluded offline, staged as uploaded (stored before the
    upload is acknowledged). The upload job P-0001 applies it and sets ``status``.

    A re-upload of the same ``transaction_id`` with different content is kept as its own row,
    flagged by ``conflict_of`` (pointing at the original), and never overwrites anything.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        EXCEPTION = "exception", "Exception"

    # Few indexes: applying rewrites every row once, and each index costs on that path. The
    # register is covered by the unique constraints' leading column.
    register = models.ForeignKey(
        Register, on_delete=models.PROTECT, related_name="offline_transactions", db_index=False
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    transaction_id = models.CharField(max_length=64)
    concluded_at = models.DateTimeField()
    staff_id = models.CharField(max_length=32, blank=True, default="")
    operations = models.JSONField(help_text="The operations as uploaded (type, number, amount, currency, …).")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical transaction content.")
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    applied_at = models.DateTimeField(null=True, blank=True)
    conflict_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conflicts",
        db_index=False,
        help_text="Set on a re-upload whose content differs from the original: kept, flagged, not applied.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["concluded_at", "id"], condition=Q(status="pending"), name="offline_tx_pending"),
            models.Index(fields=["conflict_of"], condition=Q(conflict_of__isnull=False), name="offline_tx_conflicts"),
            models.Index(fields=["device"], condition=Q(device__isnull=False), name="offline_tx_device"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["register", "transaction_id"],
                condition=Q(conflict_of__isnull=True),
                name="offline_tx_one_original",
            ),
            models.UniqueConstraint(
                fields=["register", "transaction_id", "content_hash"], name="offline_tx_content_once"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", applied_at__isnull=True)
                | (~Q(status="pending") & Q(applied_at__isnull=False)),
                name="offline_tx_applied_at_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.register} {self.transaction_id}"

    @property
    def is_conflict(self) -> bool:
        return self.conflict_of_id is not None
