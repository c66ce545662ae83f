"""What the upload job hands to the stored-value side, and the issues it gets back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from commerce_hq.channels.models import Register

GIFT_CARD, CREDIT_MEMO = "gift_card", "credit_memo"


@dataclass(frozen=True)
class OfflineOperation:
    type: str
    number: str
    amount: Decimal | None = None
    currency: str = ""
    remainder_number: str = ""

    @property
    def kind(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def is_redeem(self) -> bool:
        return self.type.endswith(".redeem")


@dataclass(frozen=True)
class OfflinePolicy:
    """What the parameter version in effect at the channel allowed, per kind (gift_card, credit_memo)."""

    version: int
    allowed: dict[str, bool]
    limit: dict[str, Decimal | None]


@dataclass(frozen=True)
class OfflineConclusion:
    key: int
    register: Register
    transaction_id: str
    staff_id: str
    operations: tuple[OfflineOperation, ...]
    policy: OfflinePolicy


@dataclass(frozen=True)
class Issue:
    code: str
    detail: str
    gift_card_id: int | None = None
    credit_memo_id: int | None = None
    amount: Decimal | None = None
