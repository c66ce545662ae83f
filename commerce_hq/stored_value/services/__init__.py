"""Stored-value services: the only code that writes cards, memos, ledger entries and locks."""

from .common import Actor
from .credit_memos import (
    credit_memo_issue,
    credit_memo_lock,
    credit_memo_redeem,
    credit_memo_release_lock,
    credit_memo_unlock,
    credit_memo_void,
)
from .gift_cards import (
    gift_card_add_value,
    gift_card_adjust,
    gift_card_cash_out,
    gift_card_issue,
    gift_card_lock,
    gift_card_redeem,
    gift_card_release_lock,
    gift_card_set_blocked,
    gift_card_unlock,
)
from .locks import locks_expire

__all__ = [
    "Actor",
    "credit_memo_issue",
    "credit_memo_lock",
    "credit_memo_redeem",
    "credit_memo_release_lock",
    "credit_memo_unlock",
    "credit_memo_void",
    "gift_card_add_value",
    "gift_card_adjust",
    "gift_card_cash_out",
    "gift_card_issue",
    "gift_card_lock",
    "gift_card_redeem",
    "gift_card_release_lock",
    "gift_card_set_blocked",
    "gift_card_unlock",
    "locks_expire",
]
