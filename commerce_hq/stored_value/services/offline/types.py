"""What the upload job hands to the stored-value side, and the issues it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from commerce_hq.channels.models import Register

from ...rules import Kind, OfflinePolicy

GIFT_CARD, CREDIT_MEMO = Kind.GIFT_CARD, Kind.CREDIT_MEMO


@dataclass(frozen=True)
class OfflineOperation:
    type: str
    number: str
    amount: Decimal | None = None
    currency: str = ""
    remainder_number: str = ""

    @property
    def kind(self) -> Kind:
        return Kind(self.type.split(".", 1)[0])

    @property
    def is_redeem(self) -> bool:
        return self.type.endswith(".redeem")


@dataclass(frozen=True)
class OfflineConclusion:
    """One uploaded offline transaction. ``policies``: the parameters in effect at the channel
    at ``concluded_at``, per kind; ``receipt_policies``: those in effect when the upload arrived
    (they judge a conclusion whose ``concluded_at`` is implausible)."""

    key: int
    register: Register
    transaction_id: str
    staff_id: str
    operations: tuple[OfflineOperation, ...]
    concluded_at: datetime
    received_at: datetime
    policies: dict[Kind, OfflinePolicy]
    receipt_policies: dict[Kind, OfflinePolicy]


@dataclass(frozen=True)
class Issue:
    code: str
    detail: str
    gift_card_id: int | None = None
    credit_memo_id: int | None = None
    amount: Decimal | None = None
