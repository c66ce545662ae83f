"""Gift cards, credit memos, the append-only ledger, the shortfall account and the audit trail.

The balance columns are caches of the ledger: ``reconcile`` proves balance =
sum of entries. Only ``services.py`` writes these rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from commerce_hq.channels.models import Channel, Device, LegalEntity, Register

from .rules import Kind

MONEY = {"max_digits": 19, "decimal_places": 6}


class Origin(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    BACK_OFFICE = "back_office", "Back office"


class LockFields(models.Model):
    """The one lock a card or memo can carry: an owning (register, transaction), or nothing."""

    lock_register = models.ForeignKey(Register, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lock_transaction_id = models.CharField(max_length=64, blank=True, default="")
    locked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_locked(self) -> bool:
        return self.lock_register_id is not None

    @classmethod
    def lock_constraint(cls, name: str) -> models.CheckConstraint:
        unlocked = Q(lock_register__isnull=True, lock_transaction_id="", locked_at__isnull=True)
        locked = Q(lock_register__isnull=False, locked_at__isnull=False) & ~Q(lock_transaction_id="")
        return models.CheckConstraint(condition=unlocked | locked, name=name)


class GiftCard(LockFields):
    kind = Kind.GIFT_CARD

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"
        CLOSED = "closed", "Closed"

    number = models.CharField(max_length=32, unique=True)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="gift_cards")
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    issued_channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at"]
        permissions = [
            ("release_lock_giftcard", "Can release a gift card lock"),
            ("block_giftcard", "Can block and unblock gift cards"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="gift_card_balance_gte_0"),
            LockFields.lock_constraint("gift_card_one_lock_owner"),
        ]

    def __str__(self) -> str:
        return f"Gift card …{self.number[-4:]}"


class CreditMemo(LockFields):
    kind = Kind.CREDIT_MEMO

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPLIED = "applied", "Applied"
        VOIDED = "voided", "Voided"

    number = models.CharField(max_length=32, unique=True)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="credit_memos")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY, help_text="Open value: the amount while open, 0 once applied or voided.")
    applied_amount = models.DecimalField(**MONEY, default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    remainder_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="remainder"
    )
    lock_remainder_number = models.CharField(max_length=32, blank=True, default="")
    issued_channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at"]
        permissions = [
            ("release_lock_creditmemo", "Can release a credit memo lock"),
            ("void_creditmemo", "Can void a credit memo"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_memo_balance_gte_0"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_memo_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status="open", balance=F("amount")) | (~Q(status="open") & Q(balance=0)),
                name="credit_memo_single_use",
            ),
            LockFields.lock_constraint("credit_memo_one_lock_owner"),
            models.UniqueConstraint(
                fields=["lock_remainder_number"],
                condition=~Q(lock_remainder_number=""),
                name="credit_memo_remainder_number_reserved_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Credit memo …{self.number[-4:]}"


class LedgerEntry(models.Model):
    """One balance change of a card or memo. Append-only: never updated, never deleted."""

    class Operation(models.TextChoices):
        ISSUE = "issue", "Issue"
        ADD_VALUE = "add_value", "Add value"
        REDEEM = "redeem", "Redeem"
        CASH_OUT = "cash_out", "Cash out"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"
        REMAINDER_OUT = "remainder_out", "Remainder moved to a new memo"
        VOID = "void", "Void"

    gift_card = models.ForeignKey(GiftCard, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    credit_memo = models.ForeignKey(CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    operation = models.CharField(max_length=16, choices=Operation.choices)
    amount = models.DecimalField(**MONEY, help_text="Signed change of the balance.")
    balance_after = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    register = models.ForeignKey(Register, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    staff_id = models.CharField(max_length=32, blank=True, default="")
    transaction_id = models.CharField(max_length=64, blank=True, default="")
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.ONLINE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["id"]
        indexes = [models.Index(fields=["transaction_id"], name="ledger_transaction_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(gift_card__isnull=False, credit_memo__isnull=True)
                | Q(gift_card__isnull=True, credit_memo__isnull=False),
                name="ledger_entry_one_account",
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_after_gte_0"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_amount_not_0"),
            # One redemption / cash-out per card and POS transaction: replays and an
            # offline conclusion of a sale that did get through online never debit twice.
            models.UniqueConstraint(
                fields=["gift_card", "register", "transaction_id", "operation"],
                condition=Q(operation__in=["redeem", "cash_out"], gift_card__isnull=False),
                name="ledger_one_debit_per_card_transaction",
            ),
            models.UniqueConstraint(
                fields=["credit_memo"], condition=Q(operation="redeem"), name="ledger_credit_memo_single_use"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.amount} {self.currency}"


class Hold(models.Model):
    """A lock taken online, on record for good: the card or memo, who took it, the balance it
    showed, and how and when it ended. HQ books an offline conclusion only against a hold of that
    register and transaction, for at most the balance it showed. Rows are added when a lock is
    taken; only ``end`` and ``ended_at`` are ever set afterwards, once."""

    class End(models.TextChoices):
        REDEEMED = "redeemed", "Redeemed"
        UNLOCKED = "unlocked", "Unlocked"
        EXPIRED = "expired", "Expired"
        RELEASED = "released", "Released by an admin"
        CONCLUDED_OFFLINE = "concluded_offline", "Concluded offline"

    gift_card = models.ForeignKey(GiftCard, null=True, blank=True, on_delete=models.PROTECT, related_name="holds")
    credit_memo = models.ForeignKey(CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="holds")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transaction_id = models.CharField(max_length=64)
    taken_at = models.DateTimeField()
    balance_shown = models.DecimalField(**MONEY)
    end = models.CharField(max_length=20, choices=End.choices, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True, help_text="When the register concluded it offline.")
    concluded_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="What the register concluded offline against this lock."
    )

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [
            models.Index(
                fields=["register", "concluded_at"],
                condition=Q(concluded_at__isnull=False),
                name="hold_offline_exposure",
            ),
            models.Index(fields=["gift_card", "register", "transaction_id"], name="hold_card_owner"),
            models.Index(fields=["credit_memo", "register", "transaction_id"], name="hold_memo_owner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(gift_card__isnull=False, credit_memo__isnull=True)
                | Q(gift_card__isnull=True, credit_memo__isnull=False),
                name="hold_one_account",
            ),
            models.CheckConstraint(
                condition=Q(end="", ended_at__isnull=True) | (~Q(end="") & Q(ended_at__isnull=False)),
                name="hold_end_and_time_together",
            ),
            # No card or memo is held twice at once.
            models.UniqueConstraint(
                fields=["gift_card"], condition=Q(ended_at__isnull=True, gift_card__isnull=False), name="hold_card_once"
            ),
            models.UniqueConstraint(
                fields=["credit_memo"],
                condition=Q(ended_at__isnull=True, credit_memo__isnull=False),
                name="hold_memo_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold by {self.transaction_id} since {self.taken_at:%Y-%m-%d %H:%M}"


class ShortfallEntry(models.Model):
    """The shortfall account: what an offline sale took that the card or memo could no longer cover."""

    gift_card = models.ForeignKey(GiftCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    credit_memo = models.ForeignKey(CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    register = models.ForeignKey(Register, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transaction_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "shortfall entries"
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="shortfall_amount_gt_0")]

    def __str__(self) -> str:
        return f"Shortfall {self.amount} {self.currency} ({self.transaction_id})"


class AuditEvent(models.Model):
    """Back-office actions on cards and memos (lock released, lock expired, blocked, …)."""

    class Action(models.TextChoices):
        LOCK_RELEASED = "lock_released", "Lock released"
        LOCK_EXPIRED = "lock_expired", "Lock expired"
        BLOCKED = "blocked", "Blocked"
        UNBLOCKED = "unblocked", "Unblocked"
        VOIDED = "voided", "Voided"

    gift_card = models.ForeignKey(GiftCard, null=True, blank=True, on_delete=models.PROTECT, related_name="audit")
    credit_memo = models.ForeignKey(CreditMemo, null=True, blank=True, on_delete=models.PROTECT, related_name="audit")
    action = models.CharField(max_length=16, choices=Action.choices)
    lock_register = models.ForeignKey(Register, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    lock_transaction_id = models.CharField(max_length=64, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.created_at:%Y-%m-%d %H:%M}"
