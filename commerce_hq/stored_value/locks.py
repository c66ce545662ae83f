"""Row locks for money services: ``select_for_update`` helpers, always in primary-key order."""

from __future__ import annotations

import contextlib
import re

from commerce_hq.channels.models import Register

from .errors import CardNotFound, InvalidRequest, MemoNotFound, StoredValueError
from .models import CreditMemo, GiftCard

NUMBER = re.compile(r"^[A-Z0-9-]{8,32}$")


def normalize_number(raw: object) -> str:
    """Upper-case a card or memo number; raise InvalidRequest when it is not 8–32 of A-Z, 0-9, '-'."""
    number = raw.strip().upper() if isinstance(raw, str) else ""
    if not NUMBER.fullmatch(number):
        raise InvalidRequest(
            "A number is 8 to 32 characters of A-Z, 0-9 and '-'.",
            errors=[{"field": "number", "detail": "8 to 32 characters of A-Z, 0-9 and '-'."}],
        )
    return number


def _for_update(model, number: str, register: Register | None, missing: type[StoredValueError], what: str):
    """The row, locked until the surrounding transaction ends. A register sees only its own
    legal entity's cards and memos: another entity's number is simply not found."""
    rows = model.objects.select_for_update().filter(number=number)
    if register is not None:
        rows = rows.filter(legal_entity_id=register.channel.legal_entity_id)
    if NUMBER.fullmatch(number):
        with contextlib.suppress(model.DoesNotExist):
            return rows.get()
    raise missing(f"No {what} {mask(number)}.")


def gift_card_for_update(number: str, register: Register | None = None) -> GiftCard:
    return _for_update(GiftCard, number, register, CardNotFound, "gift card")


def credit_memo_for_update(number: str, register: Register | None = None) -> CreditMemo:
    return _for_update(CreditMemo, number, register, MemoNotFound, "credit memo")


def mask(number: str) -> str:
    """``6012345678901234`` → ``…1234``: numbers are bearer instruments, never shown whole in messages."""
    return "…" + number[-4:]
