from django.conf import settings
from django.db import models
from django.db.models import Q

from commerce_hq.channels.models import LegalEntity


class CommerceParameters(models.Model):
    """Commerce parameters of a legal entity: the Posting tab's Gift card and Credit memo fasttabs.

    Change these only through ``parameters.services.parameters_update``: every
    change makes a new version with who changed what, and when.
    """

    legal_entity = models.OneToOneField(LegalEntity, on_delete=models.PROTECT, related_name="commerce_parameters")
    version = models.PositiveIntegerField(default=1)

    # Posting tab, Gift card fasttab
    gift_card_product = models.CharField("Gift card product", max_length=40, blank=True, default="GIFTCARD")
    gift_card_allow_offline_conclusion = models.BooleanField(
        "Allow concluding gift card transactions in offline mode", default=False
    )
    gift_card_lock_timeout_minutes = models.PositiveIntegerField(
        "Lock timeout (minutes)", null=True, blank=True, help_text="Blank: a gift card lock never expires."
    )
    gift_card_offline_limit = models.DecimalField(
        "Offline limit per transaction",
        max_digits=19,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Most a register may conclude offline on gift cards in one transaction. Blank: no limit.",
    )
    gift_card_max_balance = models.DecimalField(
        "Maximum card balance",
        max_digits=19,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Adding value above this balance is refused. Blank: no limit.",
    )
    gift_card_offline_register_limit = models.DecimalField(
        "Offline limit per register (24 hours)",
        max_digits=19,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Most one register may conclude offline on gift cards within any 24 hours. Blank: no limit.",
    )
    gift_card_offline_max_hours = models.PositiveIntegerField(
        "Offline window (hours after the lock)",
        null=True,
        blank=True,
        help_text="A sale may be concluded offline at most this many hours after the gift card was locked. "
        "Blank: no limit.",
    )

    # Posting tab, Credit memo fasttab
    credit_memo_allow_offline_conclusion = models.BooleanField(
        "Allow concluding credit memo transactions in offline mode", default=False
    )
    credit_memo_lock_timeout_minutes = models.PositiveIntegerField(
        "Lock timeout (minutes)", null=True, blank=True, help_text="Blank: a credit memo lock never expires."
    )
    credit_memo_offline_limit = models.DecimalField(
        "Offline limit per transaction",
        max_digits=19,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Most a register may conclude offline on credit memos in one transaction. Blank: no limit.",
    )
    credit_memo_offline_register_limit = models.DecimalField(
        "Offline limit per register (24 hours)",
        max_digits=19,
        decimal_places=6,
        null=True,
        blank=True,
        help_text="Most one register may conclude offline on credit memos within any 24 hours. Blank: no limit.",
    )
    credit_memo_offline_max_hours = models.PositiveIntegerField(
        "Offline window (hours after the lock)",
        null=True,
        blank=True,
        help_text="A sale may be concluded offline at most this many hours after the credit memo was locked. "
        "Blank: no limit.",
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "Commerce parameters"
        permissions = [("change_offline_parameters", "Can change Commerce parameters")]
        constraints = [
            models.CheckConstraint(
                condition=Q(gift_card_offline_limit__isnull=True) | Q(gift_card_offline_limit__gt=0),
                name="gift_card_offline_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(gift_card_max_balance__isnull=True) | Q(gift_card_max_balance__gt=0),
                name="gift_card_max_balance_positive",
            ),
            models.CheckConstraint(
                condition=Q(credit_memo_offline_limit__isnull=True) | Q(credit_memo_offline_limit__gt=0),
                name="credit_memo_offline_limit_positive",
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{kind}_offline_register_limit__isnull": True})
                    | Q(**{f"{kind}_offline_register_limit__gt": 0}),
                    name=f"{kind}_offline_register_limit_positive",
                )
                for kind in ("gift_card", "credit_memo")
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{kind}_offline_max_hours__isnull": True})
                    | Q(**{f"{kind}_offline_max_hours__gt": 0}),
                    name=f"{kind}_offline_max_hours_positive",
                )
                for kind in ("gift_card", "credit_memo")
            ),
        ]

    def __str__(self) -> str:
        return f"Commerce parameters of {self.legal_entity.code} (v{self.version})"


class ParameterVersion(models.Model):
    """One saved version of a legal entity's Commerce parameters (append-only history)."""

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="parameter_versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField(help_text="The parameters as the POS API serves them.")
    changes = models.JSONField(default=dict, help_text="{key: [old, new]} for each changed parameter.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, default="admin")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_entity", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "version"], name="parameter_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity.code} v{self.version}"
