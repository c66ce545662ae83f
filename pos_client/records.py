"""What the register remembers about a sale line, and the amount helpers it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

GIFT_CARD = "gift_card"
CREDIT_MEMO = "credit_memo"
PATHS = {GIFT_CARD: "gift-cards", CREDIT_MEMO: "credit-memos"}

# Line states. A line is "locking"/"redeeming"/"voiding" while a call's answer is unknown.
LOCKING = "locking"
LOCKED = "locked"
REDEEMING = "redeeming"
REDEEMED_ONLINE = "online"
CONCLUDED_OFFLINE = "offline"
VOIDING = "voiding"
VOIDED = "voided"
UNLOCK_QUEUED = "unlock_queued"
REFUSED = "refused"
SPENT = (REDEEMED_ONLINE, CONCLUDED_OFFLINE)


@dataclass
class Line:
    transaction_id: str
    line_no: int
    kind: str
    number: str
    requested: str | None = None
    currency: str | None = None
    shown_balance: str | None = None
    remainder_number: str | None = None
    lock_expires_at: str | None = None
    state: str = LOCKING
    amount: str | None = None
    remainder: str | None = None

    def intent(self, action: str) -> str:
        return f"{self.transaction_id}/{self.line_no}/{action}"

    @property
    def path(self) -> str:
        return f"{PATHS[self.kind]}/{self.number}"

    def tender(self) -> Decimal:
        """What this line pays: the requested amount, at most the balance shown at lock time."""
        shown = Decimal(self.shown_balance)
        return shown if self.requested is None else min(Decimal(self.requested), shown)


def to_amount(text: str) -> Decimal:
    """A positive plain decimal, as the POS API takes it (``"12.50"``)."""
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"not a positive amount: {text!r}")
    return amount


def same_scale(amount: Decimal, like: str) -> str:
    """``amount`` written with the decimals of ``like`` (an amount the server wrote)."""
    exponent = Decimal(like).as_tuple().exponent
    scaled = amount.quantize(Decimal(1).scaleb(exponent))
    if scaled != amount:
        raise ValueError(f"{amount} has more decimals than the currency allows")
    return str(scaled)


def now_rfc3339() -> str:
    """Now in UTC with microseconds: HQ judges an offline conclusion by the parameter version in
    effect at that instant, so it must not be rounded down to before a distribution."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def mask(number: str) -> str:
    """Numbers are bearer instruments: print only the last four characters."""
    return "…" + number[-4:]
