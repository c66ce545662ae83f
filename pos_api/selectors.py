"""Reads for the POS API: a card or memo as a register of a legal entity may see it."""

from __future__ import annotations

from commerce_hq.channels.models import LegalEntity
from commerce_hq.stored_value.errors import CardNotFound, MemoNotFound
from commerce_hq.stored_value.locks import mask
from commerce_hq.stored_value.models import CreditMemo, GiftCard


def gift_card_get(*, number: str, legal_entity: LegalEntity) -> GiftCard:
    card = (
        GiftCard.objects.select_related("lock_register__channel")
        .filter(number=number, legal_entity=legal_entity)
        .first()
    )
    if card is None:
        raise CardNotFound(f"No gift card {mask(number)}.")
    return card


def credit_memo_get(*, number: str, legal_entity: LegalEntity) -> CreditMemo:
    memo = (
        CreditMemo.objects.select_related("lock_register__channel", "remainder_of")
        .filter(number=number, legal_entity=legal_entity)
        .first()
    )
    if memo is None:
        raise MemoNotFound(f"No credit memo {mask(number)}.")
    return memo
