"""Reads for the POS API: a card or memo as a register of a legal entity may see it."""

from __future__ import annotations

from commerce_hq.stored_value.errors import CardNotFound, MemoNotFound
from commerce_hq.stored_value.locks import mask
from commerce_hq.stored_value.models import CreditMemo, GiftCard


def gift_card_get(*, number: str, legal_entity_id: int) -> GiftCard:
    try:
        return GiftCard.objects.select_related("lock_register__channel").get(
            number=number, legal_entity_id=legal_entity_id
        )
    except GiftCard.DoesNotExist:
        raise CardNotFound(f"No gift card {mask(number)}.") from None


def credit_memo_get(*, number: str, legal_entity_id: int) -> CreditMemo:
    try:
        return CreditMemo.objects.select_related("lock_register__channel", "remainder_of").get(
            number=number, legal_entity_id=legal_entity_id
        )
    except CreditMemo.DoesNotExist:
        raise MemoNotFound(f"No credit memo {mask(number)}.") from None
