"""Row locks for money services: ``select_for_update`` helpers, always in primary-key order."""

from __future__ import annotations

import re

from .errors import CardNotFound, InvalidRequest, MemoNotFound
from .models import CreditMemo, GiftCard

NUMBER = re.compile(r"^[A-Z0-9-]{8,32}$")


def normalize_number(raw: object) -> str:
    """Upper-case a card or memo number; raise InvalidRequest when it is not 8–32 of A-Z, 0-9, '-'."""
    number = raw.strip().upper() if isinstance(raw, str) else ""
    if not NUMBER.match(number):
        raise InvalidRequest(
            "A number is 8 to 32 characters of A-Z, 0-9 and '-'.",
            errors=[{"field": "number", "detail": "8 to 32 characters of A-Z, 0-9 and '-'."}],
        )
    return number


def gift_card_for_update(number: str) -> GiftCard:
    """The card row, locked until the surrounding transaction ends."""
    card = GiftCard.objects.select_for_update().filter(number=number).first() if NUMBER.match(number) else None
    if card is None:
        raise CardNotFound(f"No gift card {mask(number)}.")
    return card


def credit_memo_for_update(number: str) -> CreditMemo:
    memo = CreditMemo.objects.select_for_update().filter(number=number).first() if NUMBER.match(number) else None
    if memo is None:
        raise MemoNotFound(f"No credit memo {mask(number)}.")
    return memo


def mask(number: str) -> str:
    """``6012345678901234`` → ``…1234``: numbers are bearer instruments, never shown whole in messages."""
    return "…" + number[-4:]
